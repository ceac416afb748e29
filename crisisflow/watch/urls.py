"""The early-warning pages, listed in crisisflow.web.urls (so the route checks see them)."""

from django.urls import path

from crisisflow.watch import setup_views, views

web_patterns = [
    path("watch/", views.watch_page, name="watch"),
    path("watch/upload/", views.upload, name="watch-upload"),
    path("watch/points/", views.add_point, name="watch-point-add"),
    path("watch/posts/", views.add_post, name="watch-post-add"),
    path("watch/rules/quiet/", views.quiet_rule, name="watch-rule-quiet"),
    # Setting up: brands, sources, series and rules (duty commanders).
    path("watch/setup/", setup_views.setup_page, name="watch-setup"),
    path("watch/setup/new/<slug:what>/", setup_views.new_page, name="watch-setup-new"),
    path("watch/setup/brands/<int:pk>/", setup_views.edit_brand, name="watch-brand-edit"),
    path("watch/setup/sources/<int:pk>/", setup_views.edit_source, name="watch-source-edit"),
    path("watch/setup/series/<int:pk>/", setup_views.edit_series, name="watch-series-edit"),
    path("watch/setup/rules/<int:pk>/", setup_views.edit_rule, name="watch-rule-edit"),
    path("watch/setup/brands/", setup_views.save_brand, name="watch-brand-save"),
    path("watch/setup/sources/", setup_views.save_source, name="watch-source-save"),
    path("watch/setup/sources/rotate/", setup_views.rotate_secret, name="watch-source-rotate"),
    path("watch/setup/series/", setup_views.save_series, name="watch-series-save"),
    path("watch/setup/rules/", setup_views.save_rule, name="watch-rule-save"),
]

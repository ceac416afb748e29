from django.urls import path

from crisisflow.commitments import views

app_name = "commitments"

urlpatterns = [
    path("commitments/", views.all_commitments, name="all"),
    path("incidents/<str:reference>/commitments/", views.incident_ledger, name="incident"),
    path("commitments/<int:commitment_id>/kept/", views.keep, name="kept"),
    path("commitments/<int:commitment_id>/verify/", views.verify, name="verify"),
    path("commitments/<int:commitment_id>/withdraw/", views.withdraw, name="withdraw"),
    path("commitments/<int:commitment_id>/carry-over/", views.carry_over, name="carry-over"),
]

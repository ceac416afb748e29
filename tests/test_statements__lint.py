"""The statement linter: what a crisis-PR reviewer would flag, in Chinese and English.

A table of sentences and whole statements with the codes each must raise (and good
statements, written the way a PR lead would, that must raise nothing); then the word
lists an organisation extends, the fact sheet check with its number formats, channel
lengths, the command and the live-lint fragment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from crisisflow.incidents import actions
from crisisflow.statements.lint import FactRef, Finding, LintDataError, line_col, lint, sms_segments
from crisisflow.statements.lint.data import load

# --- the table --------------------------------------------------------------------------------

HOLDING = "holding_statement"

ZH_HOLDING_GOOD = (
    "3月5日14时20分至17时40分，华东地区部分用户无法使用扫码支付，约120万用户受到影响。"
    "对此，我们深表歉意，这是我们的责任。\n"
    "目前服务已全部恢复。我们将于3月8日前为每位受影响用户退还当日手续费，并发放10元代金券。"
    "如有疑问，请拨打24小时客服热线400-800-1234。"
)
ZH_APOLOGY_LETTER = (
    "致全体用户的一封致歉信\n"
    "3月2日，我们发现一个数据接口存在漏洞，约3.2万名用户的手机号可能被他人获取。"
    "这是我们的失误，我谨代表公司向每一位受影响的用户诚恳道歉。\n"
    "我们已于3月2日关闭该接口，并向公安机关报案。"
    "3月9日前，我们将逐一短信通知受影响用户，并为其免费提供一年身份信息安全保险（每人最高赔付5万元）。"
    "调查进展将于每周五在官网公布。"
)
EN_HOLDING_GOOD = (
    "Between 09:10 and 11:40 UTC on 5 March, customers in East China could not pay by card; "
    "about 1.2 million customers were affected. We are sorry. This was our failure.\n"
    "The service was fully restored at 11:40. We will refund every failed payment fee by 8 March "
    "and credit 10 yuan to each affected account. If you need help, call our hotline on "
    "400-800-1234, open 24 hours a day."
)
EN_APOLOGY_LETTER = (
    "On 2 March we found a flaw in one of our data connections that let others see the phone "
    "numbers of about 32,000 customers. This was our mistake, and I apologise to every one of you.\n"
    "We closed the connection on 2 March and reported the matter to the police. By 9 March we will "
    "text every affected customer and offer one year of free identity-theft insurance, paying up "
    "to 50,000 yuan per person. We will publish our progress on our website every Friday."
)

CASES = [
    # blame_shifting: a partner, supplier, temporary worker or the users, before owning it
    ("zh-hans", None, "因第三方合作方安全管控疏漏，导致部分用户信息泄露。", {"blame_shifting"}),
    ("zh-hans", None, "此事系临时工操作失误所致，与公司无关。", {"blame_shifting"}),
    ("zh-hans", None, "事故原因是驾驶员未及时接管车辆。", {"blame_shifting"}),
    ("zh-hans", None, "部分用户因自身操作不当导致账户被盗。", {"blame_shifting"}),
    ("zh-hans", None, "延迟发货是物流供应商的问题。", {"blame_shifting"}),
    ("zh-hans", None, "我们深表歉意。经初步调查，问题出在一家合作方的机房。", set()),
    ("en", None, "Due to a third-party partner's security lapse, some user data was exposed.", {"blame_shifting"}),
    ("en", None, "The driver failed to take over in time.", {"blame_shifting"}),
    ("en", None, "This was the act of a temporary worker.", {"blame_shifting"}),
    ("en", None, "The outage was caused by user error.", {"blame_shifting"}),
    ("en", None, "Customers failed to update their passwords.", {"blame_shifting"}),
    ("en", None, "We are sorry. Our investigation so far points to a fault at a supplier's data centre.", set()),
    # vague_promise: no date, scope or amount
    ("zh-hans", None, "我们将尽快修复问题。", {"vague_promise"}),
    ("zh-hans", None, "公司将全力以赴，妥善处理此事。", {"vague_promise"}),
    ("zh-hans", None, "我们承诺全额承担用户的一切损失。", {"vague_promise"}),
    ("zh-hans", None, "我们将严肃处理相关责任人。", {"vague_promise"}),
    ("zh-hans", None, "我们将持续关注，适时公布进展。", {"vague_promise"}),
    ("zh-hans", None, "调查结果出来后，我们会第一时间告知大家，给大家一个交代。", {"vague_promise"}),
    ("en", None, "We take your privacy very seriously.", {"vague_promise"}),
    ("en", None, "We apologise for any inconvenience.", {"minimising"}),
    ("zh-hans", None, "这是技术迭代过程中难以避免的问题。", {"jargon"}),
    ("zh-hans", None, "我们会尽快在3月8日前完成退款。", set()),
    ("zh-hans", None, "我们将于3月8日18时前完成修复。", set()),
    ("zh-hans", None, "每位受影响用户将获得50元补偿，3月10日前到账。", set()),
    ("zh-hans", None, "我们会在24小时内联系每一位受影响用户。", set()),
    ("en", None, "We will fix this as soon as possible.", {"vague_promise"}),
    ("en", None, "We will bear all losses.", {"vague_promise"}),
    ("en", None, "We are doing everything we can to restore service.", {"vague_promise"}),
    ("en", None, "We will share an update shortly.", {"vague_promise"}),
    ("en", None, "We will refund every affected customer by 8 March.", set()),
    ("en", None, "We will credit 10 yuan to each affected account within 48 hours.", set()),
    # jargon, with the plain wording
    ("zh-hans", None, "由于SDK漏洞，部分数据被爬虫抓取。", {"jargon"}),
    ("zh-hans", None, "我们已暂停涉事版本的OTA升级。", {"jargon"}),
    ("zh-hans", None, "通过算法迭代，识别准确率将进一步提升。", {"jargon"}),
    ("zh-hans", None, "系统已回滚至上一版本。", {"jargon"}),
    ("en", None, "A bug in our SDK exposed the data.", {"jargon"}),
    ("en", None, "We have paused the OTA update.", {"jargon"}),
    ("en", None, "Algorithm iteration will improve detection.", {"jargon"}),
    ("en", None, "We rolled back the release.", {"jargon"}),
    # absolute_claim
    ("zh-hans", None, "我们保证此类问题100%不会再次发生。", {"absolute_claim"}),
    ("zh-hans", None, "平台商品绝对都是正品。", {"absolute_claim"}),
    ("zh-hans", None, "我们将完全杜绝此类事件。", {"absolute_claim"}),
    ("en", None, "This will never happen again.", {"absolute_claim"}),
    ("en", None, "Our products are 100% genuine.", {"absolute_claim"}),
    ("en", None, "We guarantee your data is completely safe.", {"absolute_claim"}),
    # minimising
    ("zh-hans", None, "本次问题仅涉及个别用户。", {"minimising"}),
    ("zh-hans", None, "网传数据泄露系谣言。", {"minimising"}),
    ("zh-hans", None, "只有少数订单受到轻微影响。", {"minimising"}),
    ("zh-hans", None, "经核实，此前网传的“数据泄露”为不实传言。", {"minimising"}),
    ("en", None, "Only a small number of users were affected.", {"minimising"}),
    ("en", None, "Reports of a breach are rumours.", {"minimising"}),
    ("en", None, "This was an isolated incident.", {"minimising"}),
    ("en", None, "This was a minor glitch affecting a handful of users.", {"minimising"}),
    # liability_admission: info for legal
    ("zh-hans", None, "对此我们承担全部法律责任。", {"liability_admission"}),
    ("zh-hans", None, "公司的行为违反了《个人信息保护法》。", {"liability_admission"}),
    ("zh-hans", None, "这次事故是我们的重大过失。", {"liability_admission"}),
    ("en", None, "We accept legal liability for the breach.", {"liability_admission"}),
    ("en", None, "Our negligence caused this.", {"liability_admission"}),
    # several at once, as first drafts come
    (
        "zh-hans",
        None,
        "因第三方SDK存在漏洞导致少数用户信息泄露，我们会尽快处理。",
        {"blame_shifting", "jargon", "minimising", "vague_promise"},
    ),
    (
        "en",
        None,
        "A supplier's SDK caused a minor issue; we will fix it as soon as possible and it will never happen again.",
        {"blame_shifting", "jargon", "minimising", "vague_promise", "absolute_claim"},
    ),
    # plain, good sentences: nothing
    ("zh-hans", None, "短信通知：您的订单已退款，请查收。", set()),
    ("zh-hans", None, "受影响订单约3.2万笔，款项将在3个工作日内原路退回。", set()),
    ("zh-hans", "progress_update", "截至3月6日12时，已有98万名用户完成退款，其余将于3月8日前完成。", set()),
    ("en", None, "Please call our hotline on 400-800-1234, open 24 hours a day.", set()),
    ("en", None, "We deeply regret the disruption this caused to your business.", set()),
    (
        "en",
        "social_post",
        "Card payments work again. We are sorry for this morning's disruption; refunds of failed fees arrive by 8 March.",
        set(),
    ),
    # the three elements of a first response (holding and full statements)
    ("zh-hans", HOLDING, ZH_HOLDING_GOOD, set()),
    ("zh-hans", "full_statement", ZH_APOLOGY_LETTER, set()),
    ("en", HOLDING, EN_HOLDING_GOOD, set()),
    ("en", "full_statement", EN_APOLOGY_LETTER, set()),
    ("zh-hans", HOLDING, "3月5日14时起，部分用户无法登录。我们已修复问题，服务已恢复。", {"missing_attitude"}),
    ("zh-hans", HOLDING, "我们对3月5日部分用户无法登录深表歉意。", {"missing_action"}),
    ("zh-hans", HOLDING, "我们深表歉意，已成立专项小组，将于3月8日前公布调查结果。", {"missing_facts"}),
    (
        "zh-hans",
        HOLDING,
        "我们深表歉意。3月5日部分用户无法支付。我们会尽快给大家一个满意的交代。",
        {"vague_promise", "missing_action"},
    ),
    (
        "zh-hans",
        HOLDING,
        "网传我司数据泄露系谣言，请大家不要轻信。",
        {"minimising", "missing_attitude", "missing_facts", "missing_action"},
    ),
    (
        "en",
        HOLDING,
        "On 5 March between 09:10 and 11:40 UTC, card payments failed for some customers. We have restored the service.",
        {"missing_attitude"},
    ),
    ("en", HOLDING, "We are sorry that card payments failed for some customers on 5 March.", {"missing_action"}),
    (
        "en",
        HOLDING,
        "We are sorry. We have set up a dedicated team and will publish our findings by 8 March.",
        {"missing_facts"},
    ),
    (
        "en",
        HOLDING,
        "We take this seriously and are looking into it.",
        {"vague_promise", "missing_attitude", "missing_facts", "missing_action"},
    ),
    # the three elements are not asked of other kinds: an update need not apologise again
    ("en", "progress_update", "By 12:00 on 6 March, 980,000 customers had their fees refunded.", set()),
    # whole statements of each kind, as a PR lead would write them: nothing to flag
    (
        "zh-hans",
        "holding_statement",
        "关于部分用户QQ消息延迟的情况说明\n今天上午10时05分起，部分用户在使用QQ收发消息时出现延迟，最长约20分钟，视频通话也受到影响。11时30分，消息收发已全部恢复正常。\n给大家带来的不便，我们深感抱歉。这是我们的问题，我们向每一位受影响的用户道歉。\n经初步排查，故障原因是一处机房网络设备异常，具体原因仍在调查中，我们将在48小时内公布调查结果。\n受影响用户可于3月10日前在“设置—帮助”中领取7天QQ会员作为补偿。如仍有问题，请联系在线客服，我们24小时在线。",
        set(),
    ),
    (
        "en",
        "holding_statement",
        "Update on delayed messages\nFrom 10:05 this morning, some users saw messages arrive up to 20 minutes late, and video calls dropped. Everything was working normally again by 11:30.\nWe are sorry for the disruption. This was our problem, and we apologise to everyone affected.\nOur initial findings point to a faulty network device in one data centre; we are still investigating and will publish what we find within 48 hours.\nAffected users can claim 7 days of free membership under Settings > Help until 10 March. If you still have a problem, our online support team is available 24 hours a day.",
        set(),
    ),
    (
        "zh-hans",
        "full_statement",
        "致歉信\n3月1日晚，我们的客服系统因访问量激增出现长时间排队，部分用户等待超过2小时，部分退货申请未能及时处理。这是我们的失误，我代表公司诚恳道歉。\n我们已于3月2日增加了200名客服人员，并将退货审核时限从72小时缩短为24小时。3月1日至3月7日提交的退货申请，运费由我们承担。\n3月15日前，我们会把服务改进的进展在官方微博和公众号上公布。",
        set(),
    ),
    (
        "zh-hans",
        "internal_notice",
        "各位同事：\n3月5日14时20分起，扫码支付出现故障，约120万用户受到影响，服务已于17时40分恢复。对外口径以今晚20时发布的官方声明为准，请勿自行对外发布信息。如有媒体或用户询问，请转至公关部（分机8001）。",
        set(),
    ),
    (
        "en",
        "partner_notice",
        "Dear partners,\nOn 5 March between 09:10 and 11:40 UTC, card payments through our platform failed for some of your customers. Settlement for that day will be paid on 7 March as usual. If you have questions, contact your account manager.",
        set(),
    ),
    (
        "en",
        "customer_email",
        "Dear customer,\nOn 5 March between 09:10 and 11:40 UTC you may have been unable to pay by card. We are sorry. We will refund any failed payment fee to your account by 8 March; you do not need to do anything. If you need help, call 400-800-1234.",
        set(),
    ),
    (
        "zh-hans",
        "regulator_notice",
        "关于3月5日扫码支付服务中断的报告\n3月5日14时20分至17时40分，我司扫码支付服务中断，约120万用户受到影响，未发现资金损失。原因初步判断为数据库主节点故障，调查仍在进行。我司已于当日恢复服务，并将于3月12日前提交完整调查报告。",
        set(),
    ),
]


@pytest.mark.parametrize(("language", "kind", "text", "codes"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_linter_flags_what_a_crisis_pr_reviewer_would(language, kind, text, codes):
    findings = lint(text, language=language, kind=kind)
    assert {f.code for f in findings} == codes, [(f.code, text[f.start : f.end]) for f in findings]


def test_the_table_is_big_enough_in_both_languages():
    assert len(CASES) >= 60
    assert sum(c[0] == "zh-hans" for c in CASES) >= 30 and sum(c[0] == "en" for c in CASES) >= 30
    assert sum(not c[3] for c in CASES) >= 15  # clean texts too


def test_a_finding_has_a_level_a_span_and_a_message_with_a_suggestion():
    text = "我们将尽快修复。由于SDK漏洞，数据被爬虫抓取。"
    findings = lint(text, language="zh-hans")
    jargon = next(f for f in findings if text[f.start : f.end] == "SDK")
    assert (jargon.code, jargon.level) == ("jargon", "warning")
    assert "第三方软件组件" in jargon.message  # the plain wording to use
    vague = next(f for f in findings if f.code == "vague_promise")
    assert text[vague.start : vague.end] == "尽快"
    assert "date" in vague.message
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert jargon.as_dict() == {
        "code": "jargon",
        "level": "warning",
        "start": jargon.start,
        "end": jargon.end,
        "message": jargon.message,
    }


def test_levels_errors_for_missing_elements_info_for_legal():
    findings = lint("对此我们承担全部法律责任。", language="zh-hans", kind=HOLDING)
    levels = {f.code: f.level for f in findings}
    assert levels["missing_facts"] == "error"
    assert levels["liability_admission"] == "info"


def test_blame_after_owning_the_problem_is_a_fact_not_a_shift():
    owned = "我们深表歉意，这是我们的责任。初步调查显示，故障发生在第三方支付通道。"
    assert "blame_shifting" not in {f.code for f in lint(owned, language="zh-hans")}
    first = "故障发生在第三方支付通道。我们深表歉意。"
    assert "blame_shifting" in {f.code for f in lint(first, language="zh-hans")}
    # Blaming a temporary worker or the users is a shift wherever it comes.
    late = "我们深表歉意。此事系临时工所为。"
    assert "blame_shifting" in {f.code for f in lint(late, language="zh-hans")}


def test_naming_partners_is_blame_only_in_what_the_public_reads():
    notice = "Dear partners, our supplier's outage stopped card payments on 5 March."
    assert not lint(notice, language="en", kind="partner_notice")
    assert {f.code for f in lint(notice, language="en", kind="social_post")} == {"blame_shifting"}
    internal = "各位同事：此事系临时工所为。"
    assert {f.code for f in lint(internal, language="zh-hans", kind="internal_notice")} == {"blame_shifting"}


def test_english_words_are_whole_words_in_any_case():
    assert {f.code for f in lint("OUR PARTNERSHIP PROGRAMME CONTINUES.", language="en")} == set()
    assert {f.code for f in lint("A Third-Party Vendor leaked it.", language="en")} == {"blame_shifting"}
    assert {f.code for f in lint("The SDKs are fine; we use the sdk.", language="en")} == {"jargon"}


def test_messages_follow_the_readers_language_not_the_texts():
    text = "We will fix it as soon as possible."
    with translation.override("zh-hans"):
        message = lint(text, language="en")[0].message
    if message == lint(text, language="en")[0].message:
        pytest.skip("the zh-Hans catalogue is not compiled here (it is on merge)")
    assert "无法核实的承诺" in message and "as soon as possible" in message


# --- fact_mismatch ----------------------------------------------------------------------------

SHEET = [
    FactRef("scope", "受影响用户120万", True),
    FactRef("when", "3月5日14时20分", True),
    FactRef("compensation", "每位用户补偿10元", True),
    FactRef("cause", "原因初步判断为数据库主节点故障", False),
]


@pytest.mark.parametrize(
    ("language", "text", "mismatch"),
    [
        ("zh-hans", "约120万用户受到影响。", False),
        ("zh-hans", "120万名用户受到影响。", False),
        ("zh-hans", "一百二十万名用户受到影响。", False),
        ("zh-hans", "受影响用户超过100万。", False),
        ("zh-hans", "受影响用户逾百万。", False),
        ("zh-hans", "100万用户受到影响。", True),
        ("zh-hans", "一百万名用户受到影响。", True),
        ("zh-hans", "受影响用户约80万。", True),
        ("zh-hans", "每位用户补偿10元。", False),
        ("zh-hans", "每位用户补偿20元。", True),
        ("en", "1,200,000 customers were affected.", False),
        ("en", "1.2 million users were affected.", False),
        ("en", "More than one million users were affected.", False),
        ("en", "1,000,000 users were affected.", True),
        ("en", "1.5 million affected customers.", True),
        ("en", "Affected users: 1000000.", True),
        ("en", "It took 45 minutes and 3 engineers.", False),  # no count of people affected
    ],
)
def test_figures_are_checked_against_the_fact_sheet_in_any_format(language, text, mismatch):
    findings = [f for f in lint(text, language=language, facts=SHEET) if f.code == "fact_mismatch"]
    assert bool(findings) == mismatch, [(f.message, text[f.start : f.end]) for f in findings]


def test_a_mismatch_names_the_figure_on_the_sheet():
    text = "截至目前，100万用户受到影响。"
    (finding,) = [f for f in lint(text, language="zh-hans", facts=SHEET) if f.code == "fact_mismatch"]
    assert text[finding.start : finding.end] == "100万"
    assert finding.level == "error"
    assert "1,200,000" in finding.message


def test_dates_in_both_languages_are_checked_against_the_sheet():
    assert not [
        f for f in lint("3月5日14时20分起服务中断。", language="zh-hans", facts=SHEET) if f.code == "fact_mismatch"
    ]
    assert [f for f in lint("3月6日起服务中断。", language="zh-hans", facts=SHEET) if f.code == "fact_mismatch"]
    assert not [
        f for f in lint("Since 5 March, service was down.", language="en", facts=SHEET) if f.code == "fact_mismatch"
    ]
    assert not [
        f
        for f in lint("Since March 5th, 2026, service was down.", language="en", facts=SHEET)
        if f.code == "fact_mismatch"
    ]
    (wrong,) = [
        f for f in lint("Since 2026-03-06, service was down.", language="en", facts=SHEET) if f.code == "fact_mismatch"
    ]
    assert "03-05" in wrong.message


def test_an_unconfirmed_fact_must_not_be_stated_as_certain():
    certain = "事故原因是数据库主节点故障。"
    (finding,) = [f for f in lint(certain, language="zh-hans", facts=SHEET) if f.code == "fact_mismatch"]
    assert "not confirmed" in finding.message
    hedged = "初步调查显示，原因可能是数据库主节点故障。"
    assert not [f for f in lint(hedged, language="zh-hans", facts=SHEET) if f.code == "fact_mismatch"]
    english = [FactRef("cause", "a power failure in the primary data centre", False)]
    said = "The outage was caused by a power failure in the primary data centre."
    assert [f.code for f in lint(said, language="en", facts=english)] == ["fact_mismatch"]
    assert not lint(
        "Initial findings point to a power failure in the primary data centre.", language="en", facts=english
    )


def test_without_a_fact_sheet_figures_are_not_checked():
    assert not lint("100万用户受到影响。", language="zh-hans")


# --- channel_length ---------------------------------------------------------------------------


def test_sms_segments_chinese_70_then_67_and_plain_text_160_then_153():
    assert sms_segments("退" * 70) == 1
    assert sms_segments("退" * 71) == 2
    assert sms_segments("退" * 134) == 2
    assert sms_segments("退" * 135) == 3
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_segments("a" * 79 + "€") == 1  # € takes two places in the GSM alphabet


def test_a_customer_sms_is_counted_in_segments():
    one = "【某支付】3月5日14时至17时部分扫码支付失败，我们深表歉意。手续费将于3月8日前退回，详询4008001234。"
    assert len(one) <= 70 and not [
        f for f in lint(one, language="zh-hans", kind="customer_sms") if f.code == "channel_length"
    ]
    two = one + "另补偿每位受影响用户10元代金券，3月9日前到账。"
    (finding,) = [f for f in lint(two, language="zh-hans", kind="customer_sms") if f.code == "channel_length"]
    assert finding.level == "info"
    assert "2 messages" in finding.message and "67" in finding.message
    too_long = "退" * 501
    levels = {f.level for f in lint(too_long, language="zh-hans", kind="customer_sms") if f.code == "channel_length"}
    assert "error" in levels  # SMS is the kind's only channel: it cannot go out at all


def test_too_long_for_weibo_is_a_warning_when_the_website_can_carry_it():
    text = EN_HOLDING_GOOD + " " + "x" * 2000
    (finding,) = [f for f in lint(text, language="en", kind=HOLDING) if f.code == "channel_length"]
    assert finding.level == "warning" and "Weibo" in finding.message
    assert finding.start == 2000 and finding.end == len(text)


def test_an_email_subject_longer_than_the_channel_allows():
    title = "关于3月5日扫码支付服务中断及手续费退还安排的说明" * 3
    (finding,) = [
        f for f in lint("正文", language="zh-hans", kind="customer_email", title=title) if f.code == "channel_length"
    ]
    assert finding.field == "title" and finding.level == "warning"
    assert str(len(title)) in finding.message
    assert not [
        f
        for f in lint("正文", language="zh-hans", kind="customer_email", title="支付中断说明")
        if f.code == "channel_length"
    ]


# --- word lists: extension and mistakes ---------------------------------------------------------


def test_an_organisation_extends_the_word_lists_without_code(settings, tmp_path):
    (tmp_path / "ours.yaml").write_text(
        "language: zh-hans\n"
        "levels:\n"
        "  jargon: error\n"
        "jargon:\n"
        "  - {term: 全量上线, plain: 向所有用户开放}\n"
        "blame_shifting:\n"
        "  - {term: 外部顾问, always: true}\n",
        encoding="utf-8",
    )
    text = "我们深表歉意。本次问题源于外部顾问的建议，全量上线过程中出现异常。"
    assert not lint(text, language="zh-hans")
    settings.CRISISFLOW = {**getattr(settings, "CRISISFLOW", {}), "LINT_EXTRA_DIRS": [str(tmp_path)]}
    findings = {f.code: f for f in lint(text, language="zh-hans")}
    assert findings["jargon"].level == "error" and "向所有用户开放" in findings["jargon"].message
    assert "blame_shifting" in findings
    # The built-in lists still apply.
    assert {f.code for f in lint("我们会尽快处理。", language="zh-hans")} == {"vague_promise"}


BAD_FILES = [
    ("language: zh-hans\njargons:\n  - SDK\n", "bad.yaml:2: jargons: unknown list (did you mean 'jargon'?)"),
    ("jargon:\n  - SDK\n", "bad.yaml:1: language: missing; one of zh-hans, en"),
    ("language: fr\njargon: [SDK]\n", "bad.yaml:1: language: unknown language 'fr'; one of zh-hans, en"),
    (
        "language: en\nlevels:\n  jargon: fatal\n",
        "bad.yaml:3: levels.jargon: unknown level 'fatal'; one of error, warning, info",
    ),
    (
        "language: en\njargon:\n  - {pattern: 'sdk(', plain: x}\n",
        "bad.yaml:3: jargon[0].pattern: not a valid regular expression",
    ),
    ("language: en\njargon:\n  - {pattern: 'SDK'}\n", "bad.yaml:3: jargon[0].pattern: write patterns in lower case"),
    ("language: en\njargon:\n  - ok\n  - {pattern: 'x*'}\n", "bad.yaml:4: jargon[1].pattern: matches empty text"),
    (
        "language: en\nminimising:\n  - {term: rumours, plain: x}\n",
        "bad.yaml:3: minimising[0].plain: only jargon entries",
    ),
    (
        "language: en\njargon:\n  - {term: a, pattern: b}\n",
        "bad.yaml:3: jargon[0]: give exactly one of term: or pattern:",
    ),
    (
        "language: en\njargon:\n  - {term: SDK, plian: kit}\n",
        "bad.yaml:3: jargon[0].plian: unknown field (did you mean 'plain'?)",
    ),
    ("language: en\njargon: [SDK\n", "bad.yaml:3: file: not valid YAML"),
    ("language: en\njargon: SDK\n", "bad.yaml:2: jargon: expected a list of phrases"),
]


@pytest.mark.parametrize(("content", "error"), BAD_FILES, ids=[e.split(": ")[1] for _, e in BAD_FILES])
def test_a_bad_word_list_is_reported_as_path_line_field_message(tmp_path, content, error):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(LintDataError) as caught:
        load((str(bad),))
    lines = [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]
    assert any(line.startswith(error) for line in lines), lines


def test_a_missing_extra_folder_is_an_error(tmp_path):
    with pytest.raises(LintDataError, match="no such file or folder"):
        load((str(tmp_path / "nowhere"),))


def test_the_built_in_word_lists_are_valid():
    lists = load(())
    assert set(lists) == {"zh-hans", "en"}
    assert any(e.term == "临时工" and e.always for e in lists["zh-hans"].lists["blame_shifting"])


def test_line_and_column_count_characters_from_one():
    text = "第一行\n我们会尽快处理。"
    (finding,) = lint(text, language="zh-hans")
    assert line_col(text, finding.start) == (2, 4) == finding.line_col(text)


def test_a_finding_may_carry_a_title_field():
    finding = Finding("jargon", "warning", 0, 3, "m", "title")
    assert finding.as_dict()["field"] == "title"


# --- the command ------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "statement.txt"
    file.write_text(text, encoding="utf-8")
    return file


def run(*args: str, reader: str = "en") -> subprocess.CompletedProcess:
    """The command as a person runs it; `reader`: the site language its messages use."""
    return subprocess.run(
        [sys.executable, "manage.py", "lint_statement", *args],
        env={**os.environ, "LANGUAGE_CODE": reader},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )


def test_the_command_prints_line_col_level_code_message_and_exits_1_on_errors(tmp_path):
    file = write(tmp_path, "因第三方SDK存在漏洞，导致用户信息泄露。\n我们将尽快修复。\n")
    result = run("--kind", HOLDING, str(file))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "1:1: error: missing_attitude: No apology" in lines[0]
    assert "2:4: warning: vague_promise: “尽快” promises nothing anyone can check" in result.stdout
    assert all(re.match(r"^\d+:\d+: (error|warning|info): [a-z_]+: .+", line) for line in lines)
    # A Chinese site's command speaks Chinese; the codes stay the same.
    chinese = run("--kind", HOLDING, str(file), reader="zh-hans")
    assert chinese.returncode == 1
    assert chinese.stdout.splitlines()[0].startswith("1:1: error: missing_attitude: 没有致歉")


def test_the_command_exits_0_with_only_warnings_and_reads_english(tmp_path, capsys):
    file = write(tmp_path, "We will fix it as soon as possible.\n")
    call_command("lint_statement", "--lang", "en", str(file))  # no SystemExit: exit status 0
    assert (
        capsys.readouterr().out
        == "1:16: warning: vague_promise: “as soon as possible” promises nothing anyone can check. Add a date, a scope or an amount (e.g. “by 18:00 on 5 March”, “every affected user, 50 yuan”).\n"
    )


def test_a_clean_statement_prints_nothing(tmp_path, capsys):
    call_command("lint_statement", "--kind", HOLDING, str(write(tmp_path, ZH_HOLDING_GOOD)))
    assert capsys.readouterr().out == ""


def test_the_command_refuses_what_it_cannot_lint_with_exit_2(tmp_path):
    file = write(tmp_path, "文本")
    with pytest.raises(CommandError, match="unknown kind 'memo'") as caught:
        call_command("lint_statement", "--kind", "memo", str(file))
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="cannot be read") as caught:
        call_command("lint_statement", str(tmp_path / "missing.txt"))
    assert caught.value.returncode == 2
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("lint_statement", str(tmp_path / "latin1.txt"))
    result = run("--kind", "memo", str(file))
    assert result.returncode == 2 and "unknown kind 'memo'" in result.stderr


@pytest.mark.django_db
def test_the_command_checks_figures_against_an_incidents_facts(tmp_path, people, capsys):
    incident = actions.report_incident(people.cs, title="Payments down", affected_users=1_200_000)
    file = write(tmp_path, "我们深表歉意。3月5日，100万用户无法支付。")
    with pytest.raises(SystemExit) as caught:
        call_command("lint_statement", "--incident", incident.reference, str(file))
    assert caught.value.code == 1
    out = capsys.readouterr().out
    assert "1:13: error: fact_mismatch: “100万” does not match the fact sheet (1,200,000)." in out
    with pytest.raises(CommandError, match="no incident 'CF-NOPE'") as refused:
        call_command("lint_statement", "--incident", "CF-NOPE", str(file))
    assert refused.value.returncode == 2


# --- the live-lint fragment -------------------------------------------------------------------


@pytest.fixture
def lint_url():
    return lambda incident: reverse("statements:lint", args=[incident.reference])


@pytest.mark.django_db
def test_the_fragment_highlights_the_findings_in_the_text(browse, people, lint_url):
    incident = actions.report_incident(people.cs, title="Payments down", affected_users=1_200_000)
    body = "因第三方SDK漏洞，100万用户受到影响。<script>alert(1)</script>"
    response = browse(people.pr_lead).post(
        lint_url(incident), {"body": body, "kind": HOLDING, "language": "zh-hans", "title": ""}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<mark class="lint-mark lint-warning"' in html and ">SDK</mark>" in html
    assert '<mark class="lint-mark lint-error"' in html and ">100万</mark>" in html  # against the facts
    assert 'data-code="missing_attitude"' in html and 'data-code="fact_mismatch"' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "errors" in html  # the summary line


@pytest.mark.django_db
def test_the_fragment_answers_in_the_readers_language(browse, people, lint_url):
    incident = actions.report_incident(people.cs, title="Payments down")
    html = (
        browse(people.pr_lead, "zh-hans")
        .post(lint_url(incident), {"body": "We will fix it as soon as possible.", "language": "en"})
        .content.decode()
    )
    if "promises nothing anyone can check" in html:
        pytest.skip("the zh-Hans catalogue is not compiled here (it is on merge)")
    assert "无法核实的承诺" in html


@pytest.mark.django_db
def test_a_clean_text_says_so(browse, people, lint_url):
    incident = actions.report_incident(people.cs, title="Payments down")
    html = browse(people.pr_lead).post(lint_url(incident), {"body": EN_HOLDING_GOOD, "kind": HOLDING, "language": "en"})
    assert "No findings" in html.content.decode()


@pytest.mark.django_db
def test_the_fragment_is_for_people_who_may_see_the_incident(browse, people, lint_url, client):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    data = {"body": "我们会尽快处理。", "language": "zh-hans"}
    assert browse(people.outsider).post(lint_url(secret), data).status_code == 404
    assert browse(people.commander).post(lint_url(secret), data).status_code == 200
    assert browse(people.commander).get(lint_url(secret)).status_code == 405
    client.logout()
    assert client.post(lint_url(secret), data).status_code in (302, 404)


@pytest.mark.django_db
def test_bad_input_is_a_form_error_naming_the_field(browse, people, lint_url):
    incident = actions.report_incident(people.cs, title="Payments down")
    response = browse(people.pr_lead).post(lint_url(incident), {"body": "x", "language": "fr", "kind": "memo"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Language:" in html and "Kind:" in html


@pytest.mark.django_db
def test_the_fragment_needs_the_csrf_token(people, lint_url):
    incident = actions.report_incident(people.cs, title="Payments down")
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.pr_lead)
    assert client.post(lint_url(incident), {"body": "x", "language": "en"}).status_code == 403


@pytest.mark.django_db
def test_the_editor_posts_what_is_typed_and_gets_highlights_against_the_fact_sheet(browse, people, plan):
    from crisisflow.statements import facts, versions
    from tests.statements import sheet, team_incident

    incident = team_incident(people)
    facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "zh-hans", body="")
    client = browse(people.pr_lead)
    editor = client.get(reverse("statements:edit", args=[incident.reference, statement.pk])).content.decode()
    live = reverse("statements:lint", args=[incident.reference])
    assert f'hx-post="{live}"' in editor
    # What the editor's form sends: its hidden kind and language, the version, title and body.
    typed = {"kind": "holding_statement", "language": "zh-hans", "version": 1, "title": "", "body": "我们会尽快处理。"}
    html = client.post(live, typed).content.decode()
    assert ">尽快</mark>" in html and 'data-code="vague_promise"' in html
    assert 'data-code="missing_facts"' in html


@pytest.mark.django_db
def test_an_incidents_fact_sheet_as_the_linter_reads_it(people, plan):
    from crisisflow.statements import facts
    from tests.statements import sheet, team_incident

    incident = team_incident(people)  # 1,200,000 affected users
    facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    refs = facts.fact_refs(incident)

    def codes(text):
        return [(f.code, text[f.start : f.end]) for f in lint(text, language="en", facts=refs)]

    assert codes("We are sorry: 1.2 million users could not pay on 2 March.") == []
    assert codes("We are sorry: 1,000,000 users could not pay.") == [("fact_mismatch", "1,000,000")]
    assert codes("We will refund every failed payment by 5 March.") == []
    assert codes("We will refund every failed payment by 6 March.") == [("fact_mismatch", "6 March")]
    # The voucher is not confirmed on the sheet: promising it as certain is a mismatch.
    assert codes("Every affected user gets a 20 yuan voucher.") == [("fact_mismatch", "20")]
    assert codes("We expect to offer every affected user a 20 yuan voucher.") == []


def test_a_broken_extra_list_leaves_the_built_in_ones_working(settings, tmp_path, caplog):
    (tmp_path / "broken.yaml").write_text(
        "language: zh-hans\njargon:\n  - {term: 全量上线, plian: x}\n", encoding="utf-8"
    )
    settings.CRISISFLOW = {**getattr(settings, "CRISISFLOW", {}), "LINT_EXTRA_DIRS": [str(tmp_path)]}
    assert {f.code for f in lint("我们会尽快全量上线。", language="zh-hans")} == {"vague_promise"}
    assert "broken.yaml:3: jargon[0].plian: unknown field" in caplog.text
    # `manage.py check` names it too (the statements app registers the check).
    from django.core import checks

    found = [e for e in checks.run_checks() if e.id == "crisisflow.statements.E001"]
    assert [e.msg for e in found] == [
        f"{tmp_path}/broken.yaml:3: jargon[0].plian: unknown field (did you mean 'plain'?)"
    ]
    with pytest.raises(CommandError, match="plian") as refused:
        call_command("lint_statement", str(write(tmp_path, "文本")))
    assert refused.value.returncode == 2


TRICKY = "0123456789,.:-+% 　\n万亿千百十一二两三月日号年约超过逾余多用户名位元我们道歉尽快第三方SDKsorry users million March May 5th€😀İ"


@settings_hypothesis(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=TRICKY, max_size=300),
    language=st.sampled_from(["zh-hans", "en"]),
    kind=st.sampled_from([None, "holding_statement", "customer_sms", "customer_email", "partner_notice"]),
    title=st.text(alphabet=TRICKY, max_size=80),
)
def test_any_text_lints_without_failing_and_spans_stay_inside(text, language, kind, title):
    facts = [FactRef("scope.affected_users", "1200000", True), FactRef("when", "3月2日", False)]
    findings = lint(text, language=language, kind=kind, title=title, facts=facts)
    for f in findings:
        source = title if f.field == "title" else text
        assert 0 <= f.start <= f.end <= len(source), f
        assert f.level in ("error", "warning", "info") and f.message


@pytest.mark.parametrize(
    ("language", "text", "mismatch"),
    [
        ("zh-hans", "1.2亿名用户受到影响。", False),
        ("zh-hans", "一亿两千万名用户受到影响。", False),
        ("zh-hans", "一亿名用户受到影响。", True),
        ("en", "120 million users were affected.", False),
        ("en", "120,000,000 users were affected.", False),
        ("en", "12 million users were affected.", True),
    ],
)
def test_hundreds_of_millions_in_both_languages(language, text, mismatch):
    sheet = [FactRef("scope.affected_users", "120000000", True)]
    findings = [f for f in lint(text, language=language, facts=sheet) if f.code == "fact_mismatch"]
    assert bool(findings) == mismatch, [(f.message, text[f.start : f.end]) for f in findings]


def test_chinese_numeral_dates_are_read_too():
    sheet = [FactRef("when", "2026-03-05", True)]
    assert not [f for f in lint("三月五日起服务中断。", language="zh-hans", facts=sheet) if f.code == "fact_mismatch"]
    assert not [
        f for f in lint("二〇二六年三月五日起服务中断。", language="zh-hans", facts=sheet) if f.code == "fact_mismatch"
    ]
    (wrong,) = [f for f in lint("三月六日起服务中断。", language="zh-hans", facts=sheet) if f.code == "fact_mismatch"]
    assert wrong.start == 0 and wrong.end == 4

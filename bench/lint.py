"""How long does the statement linter take per statement?

Lints N statements (default 1,000) of about 2,000 characters each, half in Chinese and
half in English, made of sentences a crisis team writes (good ones and the pitfalls the
linter flags), as holding statements checked against a fact sheet, and prints the median
and 95th percentile per statement (wall clock, and the process's own CPU time, which
other work on the machine moves less). No database is needed. The word lists are loaded once
before timing (a server loads them once per process).
Last line: lint_p95_ms=<95th percentile> (target: 10 or less).

    .venv/bin/python bench/lint.py [N]
"""

from __future__ import annotations

import gc
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
LENGTH = 2000

ZH = [
    "3月5日14时20分起，华东地区部分用户无法使用扫码支付。",
    "我们对此深表歉意，这是我们的责任。",
    "截至3月5日18时，受影响用户约120万，服务已于17时40分全部恢复。",
    "我们将于3月8日前向每位受影响用户退还当日手续费，并补偿10元代金券。",
    "如有疑问，请拨打24小时客服热线400-800-1234。",
    "因第三方SDK存在漏洞，导致部分数据泄露。",
    "我们会尽快修复，全力承担一切损失。",
    "这是临时工的个人行为，网传谣言不实。",
    "经过算法迭代，系统已完全杜绝此类问题，100%安全。",
    "仅有个别用户受到影响，属于小概率事件。",
    "我们已暂停涉事版本的远程升级，并成立专项调查组。",
    "原因初步判断为数据库主节点故障，调查仍在进行中。",
    "对于违反《个人信息保护法》的情况，我们承担全部法律责任。",
    "100万用户受到影响。",
]
EN = [
    "Between 09:10 and 11:40 UTC on 5 March, customers in East China could not pay by card.",
    "We are sorry. This was our failure.",
    "About 1.2 million customers were affected; the service was fully restored at 11:40 UTC.",
    "We will refund every failed payment fee by 8 March and credit 10 yuan to each affected account.",
    "If you need help, call our hotline on 400-800-1234, open 24 hours a day.",
    "Due to a third-party SDK vulnerability, some data was exposed.",
    "We will fix it as soon as possible and bear all losses.",
    "This was caused by a temporary worker, and the rumours online are false.",
    "After an algorithm iteration, this will never happen again and the system is 100% secure.",
    "Only a small number of users were affected, an isolated incident.",
    "We have suspended the OTA update and set up a dedicated investigation team.",
    "Initial findings suggest a database failure; the investigation continues.",
    "We accept full responsibility and acknowledge our negligence.",
    "1,000,000 users were affected.",
]


def statement(rng: random.Random, sentences: list[str], sep: str) -> str:
    parts, size = [], 0
    while size < LENGTH:
        s = rng.choice(sentences)
        parts.append(s)
        size += len(s) + len(sep)
    return sep.join(parts)[:LENGTH]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")
    import django

    django.setup()
    from bench.common import median_ms, percentile_ms
    from crisisflow.statements.lint import FactRef, lint

    facts = [
        FactRef("scope", "受影响用户120万", True),
        FactRef("scope", "1.2 million affected customers", True),
        FactRef("when", "3月5日14时20分 / 5 March 09:10 UTC", True),
        FactRef("will_do", "3月8日前退还手续费 / refunds by 8 March", True),
        FactRef("cause", "原因初步判断为数据库主节点故障", False),
        FactRef("cause", "a database failure in the primary data centre", False),
    ]
    rng = random.Random(9)
    texts = [("zh-hans", statement(rng, ZH, "")) if i % 2 == 0 else ("en", statement(rng, EN, " ")) for i in range(N)]
    lint(texts[0][1], language="zh-hans", kind="holding_statement", facts=facts)  # load the word lists
    # As the server does once loaded (crisisflow/wsgi.py): what lives for the whole
    # process stays out of the collector's generations.
    gc.freeze()
    samples: dict[str, list[float]] = {"zh-hans": [], "en": []}
    cpu: list[float] = []
    findings = 0
    for language, text in texts:
        began, began_cpu = time.perf_counter(), time.process_time()
        findings += len(lint(text, language=language, kind="holding_statement", facts=facts))
        samples[language].append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    every = samples["zh-hans"] + samples["en"]
    chars = sum(len(t) for _, t in texts) / len(texts)
    print(f"{len(texts)} statements, {chars:.0f} characters on average, {findings / len(texts):.0f} findings each")
    for language, times in samples.items():
        print(f"{language:8} p50 {median_ms(times):6.2f} ms   p95 {percentile_ms(times, 0.95):6.2f} ms")
    print(f"{'all':8} p50 {median_ms(every):6.2f} ms   p95 {percentile_ms(every, 0.95):6.2f} ms")
    # CPU time of this process only: what the figures would be on an idle machine.
    print(f"{'cpu':8} p50 {median_ms(cpu):6.2f} ms   p95 {percentile_ms(cpu, 0.95):6.2f} ms")
    print(f"lint_p95_ms={percentile_ms(every, 0.95):.2f}")


if __name__ == "__main__":
    main()

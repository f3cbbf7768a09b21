#!/usr/bin/env python3
"""The reconciliation benchmark's payout statement, as CSV on stdout.

Releases for orders 1..N pushed by bench/recon_push.lua (order i: one item of
(50 + i % 500) reais and i % 100 centavos, quantity 1 + i % 2, freight 10 + i % 15 reais,
channel B2W at its preset commission of 16% of the items): SALE (the items' value),
COMISSION, SHIP, three rows per order, until ROWS rows are written. Every 50th order's
SALE is released 0.50 short (DIVERGENT, partial), every 97th order's commission with 17%
(DIVERGENT), every 1000th order's SALE in two parts (CONCILIED); one row for an order
nobody pushed. Usage: recon_gen.py ROWS > statement.csv
"""
import sys

rows = int(sys.argv[1])
out = sys.stdout
w = out.write
w("orderCode,type,plotNumber,releasedValue,releasedPercentualComission,releasedDate,batch\n")


def money(c):
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


written = 0
i = 0
while written < rows - 1:
    i += 1
    unit = (50 + i % 500) * 100 + i % 100
    qty = 1 + i % 2
    freight = (10 + i % 15) * 100
    items = unit * qty
    commission = (items * 16 + 50) // 100
    code = f"RC{i:09d}"
    day = f"2026-11-{1 + i % 28:02d}"
    sale = items - 50 if i % 50 == 0 else items
    lines = []
    if i % 1000 == 0:
        lines.append(f"{code},SALE,1,{money(sale // 2)},,{day},b{i % 7}\n")
        lines.append(f"{code},SALE,1,{money(sale - sale // 2)},,{day},b{i % 7}\n")
    else:
        lines.append(f"{code},SALE,1,{money(sale)},,{day},b{i % 7}\n")
    rate = 17 if i % 97 == 0 else 16
    released_commission = (items * rate + 50) // 100
    lines.append(f"{code},COMISSION,1,{money(released_commission)},{rate},{day},b{i % 7}\n")
    lines.append(f"{code},SHIP,1,{money(freight)},,{day},b{i % 7}\n")
    for line in lines[: rows - 1 - written]:
        w(line)
        written += 1
w("NOBODY-0001,SALE,1,123.45,,2026-11-15,b0\n")

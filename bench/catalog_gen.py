#!/usr/bin/env python3
"""Writes N products in the 00K import body (arrays of PER_FILE products, one file
each) for bench/catalog.sh, and the SKUs and name-search terms the readers use.
Deterministic (seeded), so every run imports the same rows.

Usage: catalog_gen.py N PER_FILE OUT_DIR"""
import json
import os
import random
import sys

n, per_file, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(7)
KINDS = ["Camiseta", "Calça Jeans", "Tênis de Corrida", "Bolsa", "Relógio", "Fone de Ouvido",
         "Panela", "Cadeira Gamer", "Mesa de Jantar", "Luminária", "Mochila", "Garrafa Térmica",
         "Jaqueta", "Vestido", "Sandália", "Notebook", "Smartphone", "Teclado", "Mouse", "Monitor",
         "Liquidificador", "Cafeteira", "Travesseiro", "Edredom", "Toalha de Banho", "Perfume",
         "Shampoo", "Bicicleta", "Patinete", "Boneca"]
ADJ = ["Básica", "Esportiva", "Premium", "Infantil", "Feminina", "Masculina", "Clássica",
       "Compacta", "Profissional", "Slim", "Vintage", "Ecológica"]
MAT = ["Algodão", "Couro", "Inox", "Azul", "Preto", "Vermelho", "Verde", "Branco", "Bambu",
       "Alumínio", "Cerâmica", "Poliéster"]
BRANDS = [f"Marca {c}" for c in "ABCDEFGHIJ"]
CATS = [("Moda", "Roupas"), ("Moda", "Calçados"), ("Casa", "Cozinha"), ("Casa", "Quarto"),
        ("Eletrônicos", "Informática"), ("Eletrônicos", "Áudio"), ("Esporte", "Ciclismo")]


def product(i):
    name = f"{rng.choice(KINDS)} {rng.choice(ADJ)} {rng.choice(MAT)} {i:07d}"
    parent, child = rng.choice(CATS)
    cents = rng.randint(990, 299990)
    return {
        "sku": f"SKU-{i:07d}",
        "externalId": f"ext-{i:07d}",
        "type": "simple",
        "info": {"name": name, "subtitle": name[:140], "status": 1, "published": 1,
                 "model": f"M-{i % 997:03d}"},
        "stock": [{"info": {"quantity": rng.randint(0, 500), "minimum": 1}}],
        "price": [{"list": round(cents * 1.2) / 100, "value": cents / 100}],
        "dimensions": {"height": 10, "width": 20, "length": 30, "weight": 500},
        "categories": [{"name": child, "externalId": f"cat-{parent}-{child}",
                        "parent": {"name": parent, "externalId": f"cat-{parent}"}}],
        "brand": {"info": {"name": (b := rng.choice(BRANDS)), "externalId": b},
                  "manufacturer": {"name": f"Fábrica {b[-1]}", "externalId": f"fab-{b[-1]}"}},
        "images": [{"source": f"https://img.example.com/{i}.jpg"}],
        "descriptions": [{"title": "Detalhes", "text": f"<p>{name}</p>"}],
        "seo": {"url": f"produto-{i:07d}"},
    }


os.makedirs(out, exist_ok=True)
files = 0
for start in range(0, n, per_file):
    with open(os.path.join(out, f"import-{files:05d}.json"), "w") as f:
        json.dump([product(i) for i in range(start, min(n, start + per_file))], f,
                  ensure_ascii=False, separators=(",", ":"))
    files += 1
with open(os.path.join(out, "skus"), "w") as f:
    f.write("\n".join(f"SKU-{i:07d}" for i in range(0, n, max(1, n // 100000))) + "\n")
# Search terms: the type words (each in about 1 name in 30), the adjectives and
# materials (1 in 12), and name fragments that pick out a few products.
terms = [k.split()[0].lower() for k in KINDS] + [a.lower() for a in ADJ] + [m.lower() for m in MAT]
terms += [f"{rng.randrange(n):07d}"[:5] for _ in range(50)]
with open(os.path.join(out, "terms"), "w") as f:
    f.write("\n".join(terms) + "\n")
print(files)

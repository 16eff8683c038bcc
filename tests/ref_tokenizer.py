#!/usr/bin/python3
"""Independent reference for GPT-2's tokenizer: OpenAI's encoder.py algorithm, re-written from its
description in docs/gpt2-facts.md, with the `regex` module (Debian python3-regex) for \\p{L} / \\p{N}.

    ref_tokenizer.py VOCAB_DIR < text        prints the ids, space-separated
"""
import json
import sys

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


class Encoder:
    def __init__(self, vocab_dir):
        with open(f"{vocab_dir}/encoder.json", encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(f"{vocab_dir}/vocab.bpe", encoding="utf-8") as f:
            lines = f.read().split("\n")[1:-1]
        self.ranks = {tuple(line.split(" ")): i for i, line in enumerate(lines)}
        self.byte_enc = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    new.append(word[i] + word[i + 1])
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = new
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for piece in PAT.findall(text):
            mapped = "".join(self.byte_enc[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids


if __name__ == "__main__":
    enc = Encoder(sys.argv[1])
    text = sys.stdin.buffer.read().decode("utf-8")
    print(" ".join(map(str, enc.encode(text))))

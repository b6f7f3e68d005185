"""board on a Raspberry Pi 4 as far as bedside uses it: the D<n> pin objects."""

for _n in range(2, 28):
    globals()[f"D{_n}"] = _n

#!/usr/bin/env python3
"""Regenerates countries.json from Debian's iso-codes package and tzdata's zone.tab.

Run on a machine with the `iso-codes` and `tzdata` packages installed:
    python3 services/ThreatLevels/ReferenceData/generate.py
"""
import json
import os
import struct

ISO = "/usr/share/iso-codes/json"
MO = "/usr/share/locale/fr/LC_MESSAGES"
ZONE_TAB = "/usr/share/zoneinfo/zone.tab"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "countries.json")

# Countries whose first zone.tab city is not the capital: rough capital coordinates.
CAPITALS = {
    "AU": (-35.28, 149.13), "BR": (-15.79, -47.88), "CA": (45.42, -75.70), "CN": (39.90, 116.40),
    "IN": (28.61, 77.21), "US": (38.90, -77.04), "NZ": (-41.29, 174.78), "ES": (40.42, -3.70),
    "EC": (-0.18, -78.47), "DE": (52.52, 13.40), "KZ": (51.17, 71.43), "MX": (19.43, -99.13),
    "CL": (-33.45, -70.67), "PT": (38.72, -9.14), "ID": (-6.21, 106.85), "CD": (-4.32, 15.31),
    "MY": (3.14, 101.69), "AR": (-34.60, -58.38), "UA": (50.45, 30.52), "RU": (55.76, 37.62),
    "MN": (47.92, 106.92), "UZ": (41.30, 69.24), "PG": (-9.44, 147.18), "KI": (1.33, 172.98),
    "FM": (6.92, 158.16), "MH": (7.09, 171.38), "PF": (-17.53, -149.57), "CY": (35.17, 33.36),
    "TR": (39.93, 32.86), "NG": (9.08, 7.40), "CI": (6.82, -5.28), "TZ": (-6.16, 35.75),
    "MM": (19.76, 96.08), "BO": (-16.50, -68.15), "LK": (6.93, 79.86), "PK": (33.68, 73.05),
    "VN": (21.03, 105.85), "AE": (24.45, 54.38), "CM": (3.85, 11.50), "BZ": (17.25, -88.77),
}


def read_mo(path):
    """Parses a GNU gettext .mo file into {msgid: msgstr} (singular entries only)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == 0x950412DE else ">"
    _, count, orig_off, trans_off = struct.unpack(endian + "4I", data[4:20])
    result = {}
    for i in range(count):
        olen, opos = struct.unpack(endian + "2I", data[orig_off + 8 * i: orig_off + 8 * i + 8])
        tlen, tpos = struct.unpack(endian + "2I", data[trans_off + 8 * i: trans_off + 8 * i + 8])
        msgid = data[opos:opos + olen].decode("utf-8")
        msgstr = data[tpos:tpos + tlen].decode("utf-8")
        if msgid and "\x00" not in msgid:
            result[msgid] = msgstr
    return result


def parse_coord(text, degree_digits):
    sign = -1 if text[0] == "-" else 1
    digits = text[1:]
    deg = int(digits[:degree_digits])
    minutes = int(digits[degree_digits:degree_digits + 2])
    seconds = int(digits[degree_digits + 2:degree_digits + 4]) if len(digits) > degree_digits + 2 else 0
    return round(sign * (deg + minutes / 60 + seconds / 3600), 4)


def reference_points():
    points = {}
    with open(ZONE_TAB, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cc, coords, _tz = line.rstrip("\n").split("\t")[:3]
            if cc in points:
                continue
            split = max(coords.rfind("+"), coords.rfind("-"))
            lat, lng = coords[:split], coords[split:]
            points[cc] = (parse_coord(lat, 2), parse_coord(lng, 3))
    points.update(CAPITALS)
    return points


def parent_code(s):
    parent = s.get("parent", "")
    if not parent or "-" in parent:
        return parent
    return s["code"].split("-")[0] + "-" + parent


def main():
    fr1 = read_mo(os.path.join(MO, "iso_3166-1.mo"))
    fr2 = read_mo(os.path.join(MO, "iso_3166-2.mo"))
    countries = json.load(open(os.path.join(ISO, "iso_3166-1.json"), encoding="utf-8"))["3166-1"]
    subdivisions = json.load(open(os.path.join(ISO, "iso_3166-2.json"), encoding="utf-8"))["3166-2"]
    points = reference_points()
    by_country = {}
    for s in subdivisions:
        by_country.setdefault(s["code"].split("-")[0], []).append({
            "code": s["code"],
            "en": s["name"],
            "fr": fr2.get(s["name"], s["name"]),
            "type": s["type"],
            "parent": parent_code(s),
        })
    out = []
    for c in sorted(countries, key=lambda c: c["alpha_2"]):
        code = c["alpha_2"]
        name = c.get("common_name", c["name"])
        entry = {
            "code": code,
            "alpha3": c["alpha_3"],
            "en": name,
            "fr": fr1.get(name, fr1.get(c["name"], name)),
            "subdivisions": sorted(by_country.get(code, []), key=lambda s: s["code"]),
        }
        if code in points:
            entry["lat"], entry["lng"] = points[code]
        out.append(entry)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"source": "Debian iso-codes (LGPL-2.1-or-later); reference points: tzdata zone.tab (public domain)",
                   "countries": out}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(out)} countries, {sum(len(c['subdivisions']) for c in out)} subdivisions, "
          f"{sum(1 for c in out if 'lat' in c)} reference points -> {OUT}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Turn the demo's JSON lines into one report: text, JSON and HTML."""
import json
import sys
from pathlib import Path


def records(path):
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def main():
    d = Path(sys.argv[1])
    data = {p.stem: records(p) for p in sorted(d.glob('*.json'))
            if p.stem != 'report'}
    (d / 'report.json').write_text(json.dumps(data, indent=1) + '\n')
    for k, v in data.items():
        print(k, v[-1] if v else None)


if __name__ == '__main__':
    main()

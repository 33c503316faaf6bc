"""PySceneDetect's ContentDetector (default settings) on one video: prints the cut times in
seconds as a JSON list on stdout, and the wall time of the detection on stderr.

Usage: .iprod/scenedetect-venv/bin/python bench/scenedetect/detect.py VIDEO
"""

import json
import sys
import time

from scenedetect import ContentDetector, detect

start = time.perf_counter()
scenes = detect(sys.argv[1], ContentDetector())
elapsed = time.perf_counter() - start
# Each scene after the first starts at a cut.
print(json.dumps([round(s[0].get_seconds(), 3) for s in scenes[1:]]))
print(f"{elapsed:.3f}", file=sys.stderr)

"""python -m readaloud"""

from .cli import main

main()

"""``python -m restora`` is the same as the ``restora`` command."""

import sys

from restora.cli import main

sys.exit(main())

"""`python -m gan_studio`: the same as the `gan-studio` command."""

import sys

from gan_studio.cli import main

sys.exit(main())

"""The desktop app (PySide6 + pyqtgraph): the only package of GAN Studio that imports Qt.

Importing it pins pyqtgraph to PySide6 before pyqtgraph is imported anywhere, so the binding is
certain. `gan_studio.ui.app.main()` opens the main window.
"""

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import PySide6.QtCore  # noqa: E402,F401  (PySide6 first, then pyqtgraph)

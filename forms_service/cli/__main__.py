"""python -m forms_service.cli"""

from . import main

main()

from dlmatrix.cli import main

raise SystemExit(main())

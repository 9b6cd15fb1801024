from dlmatrix.cli.main import main

raise SystemExit(main())

from chrgraph.cli.main import main

main()

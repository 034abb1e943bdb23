from tsae.cli import main

main()

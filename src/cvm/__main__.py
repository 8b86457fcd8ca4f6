from cvm.cli import main

main()

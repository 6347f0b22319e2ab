from chatarchive.cli import main

main()

from credline.cli import main

main()

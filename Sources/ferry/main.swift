import FerryCLI

await FerryMain.run()

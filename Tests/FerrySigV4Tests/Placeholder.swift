// Placeholder; delete when the first test lands.

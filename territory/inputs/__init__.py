"""Reading a dealer's folder: files, validation, coordinates, locating points, the store, the demo."""

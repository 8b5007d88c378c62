raise ImportError("not part of the application")

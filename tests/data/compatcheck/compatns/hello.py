X = "compatns.hello, a module of a top-level namespace package"

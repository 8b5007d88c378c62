import importlib.resources


def greet() -> str:
    text = importlib.resources.files("myapp").joinpath("data/greeting.txt").read_text()
    return text.strip()

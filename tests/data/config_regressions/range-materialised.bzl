# list(range(10**9)): engine panic
x = list(range(1000000000))

# a value nested 200000 deep, then printed: SIGSEGV on an 8 MiB stack
x = []
for i in range(200000):
    x = [x]
print(x)
s = str(x)

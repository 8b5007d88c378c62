# runs until killed without a step limit
n = 0
for a in range(100000):
    for b in range(100000):
        n += 1

# one huge repetition
x = 'x' * 1000000000

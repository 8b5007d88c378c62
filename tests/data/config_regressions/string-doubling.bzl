# doubling a string 40 times: engine panic (len overflow) after GiBs
s = 'ab'
for i in range(40):
    s = s + s

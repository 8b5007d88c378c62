from myapp.sub.mod import greet

print(greet())

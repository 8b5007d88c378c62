import sys

import packaging.version
import yaml

print(yaml.safe_dump({"version": str(packaging.version.Version("1.2.3"))}).strip())
print("libyaml:", yaml.__with_libyaml__)
sys.exit(0)

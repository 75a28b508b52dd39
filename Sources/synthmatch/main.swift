print("synthmatch")

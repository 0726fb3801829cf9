"""How to run each Flask release today: the fewest upper bounds that make it serve, found by trial and bisection."""

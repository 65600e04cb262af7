"""Vietnamese wording: numbers, money, dates, periods and local times as people read them."""

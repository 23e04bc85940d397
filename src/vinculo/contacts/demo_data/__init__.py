"""Word lists behind `vinculo demo`: real places (with their phone area codes and postal-code
ranges, so addresses and phones agree) and the pt-BR/en phrases of a plausible sales and service
history. Kept as Python so they ship with the package without package-data rules."""

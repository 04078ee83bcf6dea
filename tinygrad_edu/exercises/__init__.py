"""Exercises: you write the gradients, the project checks them and says what is most likely wrong."""

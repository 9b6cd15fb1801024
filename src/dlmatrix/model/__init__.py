"""The model: what a matrix is made of (runtimes, scenarios, images, C libraries, architectures),
cells and their outcomes and verdicts, expectations, the selector and what work weighs. Pure
values and rules; every other wing builds on it and it imports none of them."""

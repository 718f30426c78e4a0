"""Each Lambda function's logic, one module (or folder) per function, over the
adapters: the handlers in src/<function>/app.py call one function here."""

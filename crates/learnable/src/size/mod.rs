//! Model size: parameter counts and memory (being built).

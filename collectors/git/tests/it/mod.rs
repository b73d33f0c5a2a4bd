mod deployed;
mod history;
mod redaction;
mod shapes;
mod support;

mod deployed;
mod history;
mod shapes;
mod support;

// Python objects -> plain C++ data (python/outcome.h). GIL held; nothing
// here raises: conversion problems become placeholder text.
#pragma once

#include <Python.h>

#include <string>

#include "python/outcome.h"

namespace subcell::py {

// UTF-8 text of a str (lone surrogates escaped); str() of anything else.
std::string to_utf8(PyObject* obj);

// {mime: str} -> MimeBundle; application/json (and +json) values are JSON text.
MimeBundle bundle_from_dict(PyObject* dict);

// The runner's error tuple: (type, message, traceback, frames, location).
ErrorInfo error_from_tuple(PyObject* tuple);

// Snapshot of the exception currently set (and clears it), for failures of
// subcell's own machinery.
ErrorInfo error_from_current_exception(const std::string& context);

}  // namespace subcell::py

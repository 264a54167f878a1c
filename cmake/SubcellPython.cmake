# Finds the CPython that subcell embeds: the newest >= 3.12 with a shared
# libpython, without hard-coded paths.
#
# Order: -DPython3_ROOT_DIR=... (or the environment variable) wins; otherwise
# pyenv's installed versions (`pyenv versions --bare` / `pyenv prefix`);
# otherwise python3.N-config on PATH, newest first; otherwise FindPython's own
# search. Subinterpreters with their own GIL (PEP 684) need 3.12.

set(SUBCELL_PYTHON_MIN 3.12)

function(_subcell_python_from_pyenv out)
  find_program(SUBCELL_PYENV pyenv HINTS "$ENV{PYENV_ROOT}/bin" "$ENV{HOME}/.pyenv/bin")
  if(NOT SUBCELL_PYENV)
    return()
  endif()
  execute_process(COMMAND "${SUBCELL_PYENV}" versions --bare
                  OUTPUT_VARIABLE versions OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    return()
  endif()
  string(REPLACE "\n" ";" versions "${versions}")
  set(best "")
  foreach(v IN LISTS versions)
    # Plain releases only (3.13.0, not 3.13-dev or a virtualenv name).
    if(v MATCHES "^3\\.([0-9]+)\\.([0-9]+)$" AND v VERSION_GREATER_EQUAL SUBCELL_PYTHON_MIN)
      execute_process(COMMAND "${SUBCELL_PYENV}" prefix "${v}"
                      OUTPUT_VARIABLE prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE prc ERROR_QUIET)
      string(REGEX REPLACE "^3\\.([0-9]+)\\..*" "3.\\1" minor "${v}")
      if(prc EQUAL 0 AND EXISTS "${prefix}/lib/libpython${minor}.so"
         AND (best STREQUAL "" OR v VERSION_GREATER best))
        set(best "${v}")
        set(best_prefix "${prefix}")
      endif()
    endif()
  endforeach()
  if(best)
    message(STATUS "subcell: using pyenv's CPython ${best} (${best_prefix})")
    set(${out} "${best_prefix}" PARENT_SCOPE)
  endif()
endfunction()

function(_subcell_python_from_config out)
  foreach(minor 15 14 13 12)
    find_program(SUBCELL_PY_CONFIG_${minor} python3.${minor}-config)
    if(SUBCELL_PY_CONFIG_${minor})
      execute_process(COMMAND "${SUBCELL_PY_CONFIG_${minor}}" --prefix
                      OUTPUT_VARIABLE prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE rc ERROR_QUIET)
      if(rc EQUAL 0)
        message(STATUS "subcell: using CPython 3.${minor} from python3.${minor}-config (${prefix})")
        set(${out} "${prefix}" PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
endfunction()

if(NOT Python3_ROOT_DIR AND DEFINED ENV{Python3_ROOT_DIR})
  set(Python3_ROOT_DIR "$ENV{Python3_ROOT_DIR}")
endif()
if(NOT Python3_ROOT_DIR)
  _subcell_python_from_pyenv(_root)
  if(NOT _root)
    _subcell_python_from_config(_root)
  endif()
  if(_root)
    set(Python3_ROOT_DIR "${_root}" CACHE PATH "CPython installation subcell embeds")
  endif()
endif()

set(Python3_FIND_STRATEGY LOCATION)
set(Python3_FIND_VIRTUALENV STANDARD)
find_package(Python3 ${SUBCELL_PYTHON_MIN} COMPONENTS Interpreter Development.Embed)

if(NOT Python3_FOUND OR Python3_VERSION VERSION_LESS SUBCELL_PYTHON_MIN)
  message(FATAL_ERROR
    "subcell needs CPython >= ${SUBCELL_PYTHON_MIN} with a shared libpython (found: '${Python3_VERSION}').\n"
    "Install one (e.g. `pyenv install 3.13` with PYTHON_CONFIGURE_OPTS=--enable-shared, or your "
    "distribution's python3.13-dev) and/or point the build at it: cmake -DPython3_ROOT_DIR=/path/to/prefix")
endif()
message(STATUS "subcell: embedding CPython ${Python3_VERSION}: ${Python3_LIBRARIES}")

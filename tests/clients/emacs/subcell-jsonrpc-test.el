;;; subcell-jsonrpc-test.el --- Emacs's jsonrpc.el drives subcell -*- lexical-binding: t -*-

;; A third client library, independent of vscode-jsonrpc and vim.lsp.rpc:
;; Emacs's built-in jsonrpc.el, the transport of Eglot, over a pipe to
;; `subcell serve', used the way Eglot uses it (keyword methods, plists,
;; `:params nil' for methods without params, so JSON null on the wire).
;;
;;   SUBCELL_BINARY=build/src/subcell emacs --batch -Q \
;;     -l tests/clients/emacs/subcell-jsonrpc-test.el -f subcell-test-main
;;
;; The checks run in order (later ones use the session earlier ones
;; opened); the first that fails ends the run with exit status 1 after
;; printing what it got and the end of the server's log.  Every wait has a
;; deadline.

(require 'cl-lib)
(require 'subr-x)
(require 'jsonrpc)
(require 'lisp-mnt)

(defconst subcell-test-timeout 15
  "Seconds one request, or the wait for the server to exit, may take.")

(defvar subcell-test--conn nil "The jsonrpc connection to the server.")
(defvar subcell-test--wire nil "Every string written to the server, newest first.")
(defvar subcell-test--notes nil "Notifications received, newest first: (METHOD . PARAMS).")
(defvar subcell-test--passed 0)

;;; Helpers

(defun subcell-test--ok (what)
  (cl-incf subcell-test--passed)
  (princ (format "ok   - %s\n" what)))

(defun subcell-test--check (what ok &optional got)
  "Fail with WHAT unless OK; GOT is shown when it fails."
  (unless ok
    (error "%s%s" what (if got (format "; got %S" got) ""))))

(defun subcell-test--request (method params)
  "Send METHOD with PARAMS and wait for the result (or signal)."
  (jsonrpc-request subcell-test--conn method params :timeout subcell-test-timeout))

(defun subcell-test--run (cell code)
  "Run CODE as CELL in the session \"emacs\"; return the cell/run result."
  (subcell-test--request :cell/run `(:session "emacs" :cell ,cell :code ,code)))

(defun subcell-test--notes-for (method cell)
  "Params of the METHOD notifications received for CELL, oldest first."
  (cl-loop for (m . p) in (reverse subcell-test--notes)
           when (and (eq m method) (equal (plist-get p :cell) cell))
           collect p))

(defun subcell-test--frame-on-wire (method)
  "The JSON body of the frame that sent METHOD."
  (cl-loop for s in subcell-test--wire
           for body = (substring s (+ 4 (string-search "\r\n\r\n" s)))
           when (string-search (format "\"method\":\"%s\"" method) body)
           return body))

(defun subcell-test--record-send (proc string)
  (when (eq proc (and subcell-test--conn (jsonrpc--process subcell-test--conn)))
    (push string subcell-test--wire)))

(defun subcell-test--jsonrpc-version ()
  (let ((file (locate-file "jsonrpc" load-path '(".el" ".el.gz"))))
    (or (and file (let ((inhibit-message t)) ; "uncompressing jsonrpc.el.gz..."
                    (with-temp-buffer (insert-file-contents file) (lm-version))))
        "?")))

;;; The checks

(defun subcell-test--initialize ()
  (let* ((result (subcell-test--request
                  :initialize `(:processId ,(emacs-pid) :clientInfo (:name "emacs-jsonrpc"))))
         (name (plist-get (plist-get result :serverInfo) :name)))
    (subcell-test--check "serverInfo.name is subcell" (equal name "subcell") result)
    ;; Eglot sends `initialized' with an empty object.
    (jsonrpc-notify subcell-test--conn :initialized (make-hash-table))
    (subcell-test--ok (format "initialize: %s %s, Python %s" name
                              (plist-get (plist-get result :serverInfo) :version)
                              (plist-get (plist-get result :python) :version)))))

(defun subcell-test--open ()
  (let ((result (subcell-test--request :session/open '(:session "emacs" :name "jsonrpc.el"))))
    (subcell-test--check "session/open returns the id asked for"
                         (equal (plist-get result :session) "emacs") result)
    (subcell-test--ok "session/open")))

(defun subcell-test--value ()
  (let* ((result (subcell-test--run "value" "6 * 7"))
         (value (plist-get result :value)))
    (subcell-test--check "the value's text/plain is 42" (equal (plist-get value :text/plain) "42") result)
    (subcell-test--check "no error" (null (plist-get result :error)) result)
    (subcell-test--check "execution count 1" (eql (plist-get result :executionCount) 1) result)
    (subcell-test--ok "cell/run: a value (Out[1]: 42)")))

(defun subcell-test--stream ()
  (let* ((result (subcell-test--run "stream" "for i in range(3):\n    print('line', i)\n"))
         (outputs (subcell-test--notes-for 'cell/output "stream"))
         (text (mapconcat (lambda (p) (plist-get p :text)) outputs "")))
    ;; The server sends every notification of a cell before its result, and
    ;; jsonrpc.el dispatches them in order: all are here by now.
    (subcell-test--check "cell/started came for the cell"
                         (subcell-test--notes-for 'cell/started "stream") subcell-test--notes)
    (subcell-test--check "the cell/output notifications carry the printed lines"
                         (equal text "line 0\nline 1\nline 2\n") outputs)
    (subcell-test--check "on stdout" (cl-every (lambda (p) (equal (plist-get p :stream) "stdout")) outputs) outputs)
    (subcell-test--check "no value" (null (plist-get result :value)) result)
    (subcell-test--ok (format "cell/run: streamed output, %d cell/output notification(s) before the result"
                              (length outputs)))))

(defun subcell-test--error ()
  (let* ((result (subcell-test--run "error" "def f():\n    return 1 / 0\n\nf()\n"))
         (err (plist-get result :error))
         (frames (plist-get err :frames))
         (inner (and (vectorp frames) (> (length frames) 0) (aref frames (1- (length frames))))))
    (subcell-test--check "an error result, not a JSON-RPC error" err result)
    (subcell-test--check "type" (equal (plist-get err :type) "ZeroDivisionError") err)
    (subcell-test--check "message" (equal (plist-get err :message) "division by zero") err)
    (subcell-test--check "two frames: the call and f" (eql (length frames) 2) frames)
    (subcell-test--check "the innermost frame is line 2 of this cell, in f"
                         (and (equal (plist-get inner :function) "f") (eql (plist-get inner :line) 2)
                              (equal (plist-get inner :cell) "error"))
                         inner)
    (subcell-test--check "the traceback text" (string-search "return 1 / 0" (plist-get err :traceback)) err)
    (subcell-test--ok "cell/run: an error with type, message and frames (ZeroDivisionError at line 2, in f)")))

(defun subcell-test--list ()
  ;; session/list takes no params: jsonrpc.el sends "params":null.
  (let* ((result (subcell-test--request :session/list nil))
         (ours (cl-find "emacs" (plist-get result :sessions)
                        :key (lambda (s) (plist-get s :session)) :test #'equal)))
    (subcell-test--check "our session is listed, with 3 cells run"
                         (and ours (eql (plist-get ours :cellsRun) 3)) result)
    (subcell-test--ok "session/list (params: null)")))

(defun subcell-test--reset ()
  (let ((result (subcell-test--request :session/reset '(:session "emacs"))))
    (subcell-test--check "names removed" (>= (or (plist-get result :removedNames) 0) 2) result)
    (let ((after (plist-get (subcell-test--run "after" "f") :error)))
      (subcell-test--check "f is gone after the reset" (equal (plist-get after :type) "NameError") after))
    (subcell-test--ok (format "session/reset (%d names removed; then f is a NameError)"
                              (plist-get result :removedNames)))))

(defun subcell-test--shutdown-and-exit ()
  ;; Exactly what Eglot's `eglot-shutdown' does.
  (let ((result (jsonrpc-request subcell-test--conn :shutdown nil :timeout subcell-test-timeout))
        (proc (jsonrpc--process subcell-test--conn)))
    (subcell-test--check "shutdown answers null" (null result) result)
    (jsonrpc-notify subcell-test--conn :exit nil)
    (dolist (method '("shutdown" "exit"))
      (let ((body (subcell-test--frame-on-wire method)))
        (subcell-test--check (format "%s went out with \"params\":null" method)
                             (and body (string-search "\"params\":null" body)) body)
        (subcell-test--ok (format "%s as Eglot sends it: %s" method body))))
    (with-timeout (subcell-test-timeout
                   (error "the server is still running %ds after exit" subcell-test-timeout))
      (while (process-live-p proc)
        (accept-process-output proc 0.05)))
    (subcell-test--check "the server exited with status 0"
                         (and (eq (process-status proc) 'exit) (eql (process-exit-status proc) 0))
                         (list (process-status proc) (process-exit-status proc)))
    (subcell-test--ok "the server exited with status 0")))

(defconst subcell-test--checks
  '(subcell-test--initialize subcell-test--open subcell-test--value subcell-test--stream
    subcell-test--error subcell-test--list subcell-test--reset subcell-test--shutdown-and-exit))

;;; Running

(defun subcell-test--connect (binary)
  (let ((proc (make-process :name "subcell" :command (list binary "serve")
                            :connection-type 'pipe :coding 'utf-8-emacs-unix :noquery t
                            :stderr (get-buffer-create "*subcell stderr*"))))
    (setq subcell-test--conn
          (jsonrpc-process-connection
           :name "subcell" :process proc
           :notification-dispatcher (lambda (_conn method params)
                                      (push (cons method params) subcell-test--notes))))))

(defun subcell-test--tail (buffer)
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (buffer-substring-no-properties (max (point-min) (- (point-max) 3000)) (point-max)))))

(defun subcell-test-main ()
  (let ((binary (getenv "SUBCELL_BINARY"))
        (header (format "emacs %s, jsonrpc.el %s" emacs-version (subcell-test--jsonrpc-version)))
        current failure)
    (unless (and binary (file-executable-p binary))
      (princ (format "SUBCELL_BINARY is not an executable: %S\n" binary))
      (kill-emacs 2))
    (princ (format "%s; server: %s\n" header binary))
    (advice-add 'process-send-string :before #'subcell-test--record-send)
    (subcell-test--connect binary)
    (condition-case err
        (dolist (check subcell-test--checks)
          (setq current (string-remove-prefix "subcell-test--" (symbol-name check)))
          (funcall check))
      (error (setq failure err)))
    (if (not failure)
        (princ (format "%s: %d passed, 0 failed\n" header subcell-test--passed))
      (let ((proc (jsonrpc--process subcell-test--conn)))
        (princ (format "FAIL - %s: %s\n" current (error-message-string failure)))
        (princ (format "--- jsonrpc events (end):\n%s\n--- server stderr (end):\n%s\n"
                       (subcell-test--tail (jsonrpc-events-buffer subcell-test--conn))
                       (subcell-test--tail (process-get proc 'jsonrpc-stderr))))
        (when (process-live-p proc)
          (delete-process proc))
        (princ (format "%s: %d passed, 1 failed\n" header subcell-test--passed))))
    (kill-emacs (if failure 1 0))))

;;; subcell-jsonrpc-test.el ends here

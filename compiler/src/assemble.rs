//! Moves a chunk's lowered output into place: its spans (relative to the
//! chunk, file [`CHUNK_FILE`]) to the file at the chunk's offset, its node
//! ids past those of everything before it. Nodes inlined from a `fn` keep
//! their own file and span; only their ids move.

use pac_lang::Span;

use crate::diag::Diagnostic;
use crate::index::{Ref, RefKind};
use crate::ir::{self, Expr, MessagePart};
use crate::resolve::CHUNK_FILE;

/// Where a chunk goes: its file, its byte offset there, the first node id.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub file: u32,
    pub offset: usize,
    pub node_base: u32,
}

impl Place {
    fn span(&self, s: Span) -> Span {
        Span::new(s.start + self.offset, s.end + self.offset)
    }

    /// The file and span of something the chunk's output names.
    fn locate(&self, file: &mut u32, span: &mut Span) {
        if *file == CHUNK_FILE {
            *file = self.file;
            *span = self.span(*span);
        }
    }

    pub fn diagnostic(&self, d: &mut Diagnostic) {
        if d.file == CHUNK_FILE
            && let Some(s) = &mut d.suggestion
        {
            s.span = self.span(s.span);
        }
        self.locate(&mut d.file, &mut d.span);
        for l in &mut d.labels {
            self.locate(&mut l.file, &mut l.span);
        }
    }

    pub fn reference(&self, r: &mut Ref) {
        if r.file == CHUNK_FILE
            && let RefKind::Local { decl } = &mut r.kind
        {
            *decl = self.span(*decl);
        }
        self.locate(&mut r.file, &mut r.span);
    }

    pub fn expr(&self, e: &mut Expr) {
        e.id += self.node_base;
        self.locate(&mut e.file, &mut e.span);
        crate::check::for_each_child_mut(e, &mut |c| self.expr(c));
    }

    pub fn rule(&self, r: &mut ir::Rule) {
        self.locate(&mut r.file, &mut r.span);
        self.expr(&mut r.cond);
        for (_, x) in &mut r.message_lets {
            self.expr(x);
        }
        for p in &mut r.message {
            if let MessagePart::Expr(x) = p {
                self.expr(x);
            }
        }
        if let Some(a) = &mut r.autofix {
            a.span = self.span(a.span);
            if let Some(n) = &mut a.notify {
                self.expr(n);
            }
            for (_, x) in &mut a.exprs {
                self.expr(x);
            }
        }
    }

    pub fn policy(&self, p: &mut ir::Policy) {
        self.locate(&mut p.file, &mut p.span);
    }

    pub fn exception(&self, x: &mut ir::Exception) {
        self.locate(&mut x.file, &mut x.span);
        for (_, c) in &mut x.conds {
            self.expr(c);
        }
    }

    pub fn test(&self, t: &mut ir::Test) {
        self.locate(&mut t.file, &mut t.span);
        for r in &mut t.resources {
            r.span = self.span(r.span);
        }
        for (_, s) in &mut t.from_files {
            *s = self.span(*s);
        }
        for x in &mut t.expects {
            self.locate(&mut x.file, &mut x.span);
        }
    }
}

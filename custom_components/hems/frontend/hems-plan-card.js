const F = globalThis, lt = F.ShadowRoot && (F.ShadyCSS === void 0 || F.ShadyCSS.nativeShadow) && "adoptedStyleSheets" in Document.prototype && "replace" in CSSStyleSheet.prototype, ht = /* @__PURE__ */ Symbol(), yt = /* @__PURE__ */ new WeakMap();
let Rt = class {
  constructor(t, e, s) {
    if (this._$cssResult$ = !0, s !== ht) throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");
    this.cssText = t, this.t = e;
  }
  get styleSheet() {
    let t = this.o;
    const e = this.t;
    if (lt && t === void 0) {
      const s = e !== void 0 && e.length === 1;
      s && (t = yt.get(e)), t === void 0 && ((this.o = t = new CSSStyleSheet()).replaceSync(this.cssText), s && yt.set(e, t));
    }
    return t;
  }
  toString() {
    return this.cssText;
  }
};
const Zt = (r) => new Rt(typeof r == "string" ? r : r + "", void 0, ht), Gt = (r, ...t) => {
  const e = r.length === 1 ? r[0] : t.reduce((s, n, i) => s + ((o) => {
    if (o._$cssResult$ === !0) return o.cssText;
    if (typeof o == "number") return o;
    throw Error("Value passed to 'css' function must be a 'css' function result: " + o + ". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.");
  })(n) + r[i + 1], r[0]);
  return new Rt(e, r, ht);
}, qt = (r, t) => {
  if (lt) r.adoptedStyleSheets = t.map((e) => e instanceof CSSStyleSheet ? e : e.styleSheet);
  else for (const e of t) {
    const s = document.createElement("style"), n = F.litNonce;
    n !== void 0 && s.setAttribute("nonce", n), s.textContent = e.cssText, r.appendChild(s);
  }
}, wt = lt ? (r) => r : (r) => r instanceof CSSStyleSheet ? ((t) => {
  let e = "";
  for (const s of t.cssRules) e += s.cssText;
  return Zt(e);
})(r) : r;
const { is: Kt, defineProperty: Jt, getOwnPropertyDescriptor: Xt, getOwnPropertyNames: Qt, getOwnPropertySymbols: Yt, getPrototypeOf: te } = Object, Y = globalThis, bt = Y.trustedTypes, ee = bt ? bt.emptyScript : "", se = Y.reactiveElementPolyfillSupport, O = (r, t) => r, ot = { toAttribute(r, t) {
  switch (t) {
    case Boolean:
      r = r ? ee : null;
      break;
    case Object:
    case Array:
      r = r == null ? r : JSON.stringify(r);
  }
  return r;
}, fromAttribute(r, t) {
  let e = r;
  switch (t) {
    case Boolean:
      e = r !== null;
      break;
    case Number:
      e = r === null ? null : Number(r);
      break;
    case Object:
    case Array:
      try {
        e = JSON.parse(r);
      } catch {
        e = null;
      }
  }
  return e;
} }, Ot = (r, t) => !Kt(r, t), xt = { attribute: !0, type: String, converter: ot, reflect: !1, useDefault: !1, hasChanged: Ot };
Symbol.metadata ??= /* @__PURE__ */ Symbol("metadata"), Y.litPropertyMetadata ??= /* @__PURE__ */ new WeakMap();
let M = class extends HTMLElement {
  static addInitializer(t) {
    this._$Ei(), (this.l ??= []).push(t);
  }
  static get observedAttributes() {
    return this.finalize(), this._$Eh && [...this._$Eh.keys()];
  }
  static createProperty(t, e = xt) {
    if (e.state && (e.attribute = !1), this._$Ei(), this.prototype.hasOwnProperty(t) && ((e = Object.create(e)).wrapped = !0), this.elementProperties.set(t, e), !e.noAccessor) {
      const s = /* @__PURE__ */ Symbol(), n = this.getPropertyDescriptor(t, s, e);
      n !== void 0 && Jt(this.prototype, t, n);
    }
  }
  static getPropertyDescriptor(t, e, s) {
    const { get: n, set: i } = Xt(this.prototype, t) ?? { get() {
      return this[e];
    }, set(o) {
      this[e] = o;
    } };
    return { get: n, set(o) {
      const c = n?.call(this);
      i?.call(this, o), this.requestUpdate(t, c, s);
    }, configurable: !0, enumerable: !0 };
  }
  static getPropertyOptions(t) {
    return this.elementProperties.get(t) ?? xt;
  }
  static _$Ei() {
    if (this.hasOwnProperty(O("elementProperties"))) return;
    const t = te(this);
    t.finalize(), t.l !== void 0 && (this.l = [...t.l]), this.elementProperties = new Map(t.elementProperties);
  }
  static finalize() {
    if (this.hasOwnProperty(O("finalized"))) return;
    if (this.finalized = !0, this._$Ei(), this.hasOwnProperty(O("properties"))) {
      const e = this.properties, s = [...Qt(e), ...Yt(e)];
      for (const n of s) this.createProperty(n, e[n]);
    }
    const t = this[Symbol.metadata];
    if (t !== null) {
      const e = litPropertyMetadata.get(t);
      if (e !== void 0) for (const [s, n] of e) this.elementProperties.set(s, n);
    }
    this._$Eh = /* @__PURE__ */ new Map();
    for (const [e, s] of this.elementProperties) {
      const n = this._$Eu(e, s);
      n !== void 0 && this._$Eh.set(n, e);
    }
    this.elementStyles = this.finalizeStyles(this.styles);
  }
  static finalizeStyles(t) {
    const e = [];
    if (Array.isArray(t)) {
      const s = new Set(t.flat(1 / 0).reverse());
      for (const n of s) e.unshift(wt(n));
    } else t !== void 0 && e.push(wt(t));
    return e;
  }
  static _$Eu(t, e) {
    const s = e.attribute;
    return s === !1 ? void 0 : typeof s == "string" ? s : typeof t == "string" ? t.toLowerCase() : void 0;
  }
  constructor() {
    super(), this._$Ep = void 0, this.isUpdatePending = !1, this.hasUpdated = !1, this._$Em = null, this._$Ev();
  }
  _$Ev() {
    this._$ES = new Promise((t) => this.enableUpdating = t), this._$AL = /* @__PURE__ */ new Map(), this._$E_(), this.requestUpdate(), this.constructor.l?.forEach((t) => t(this));
  }
  addController(t) {
    (this._$EO ??= /* @__PURE__ */ new Set()).add(t), this.renderRoot !== void 0 && this.isConnected && t.hostConnected?.();
  }
  removeController(t) {
    this._$EO?.delete(t);
  }
  _$E_() {
    const t = /* @__PURE__ */ new Map(), e = this.constructor.elementProperties;
    for (const s of e.keys()) this.hasOwnProperty(s) && (t.set(s, this[s]), delete this[s]);
    t.size > 0 && (this._$Ep = t);
  }
  createRenderRoot() {
    const t = this.shadowRoot ?? this.attachShadow(this.constructor.shadowRootOptions);
    return qt(t, this.constructor.elementStyles), t;
  }
  connectedCallback() {
    this.renderRoot ??= this.createRenderRoot(), this.enableUpdating(!0), this._$EO?.forEach((t) => t.hostConnected?.());
  }
  enableUpdating(t) {
  }
  disconnectedCallback() {
    this._$EO?.forEach((t) => t.hostDisconnected?.());
  }
  attributeChangedCallback(t, e, s) {
    this._$AK(t, s);
  }
  _$ET(t, e) {
    const s = this.constructor.elementProperties.get(t), n = this.constructor._$Eu(t, s);
    if (n !== void 0 && s.reflect === !0) {
      const i = (s.converter?.toAttribute !== void 0 ? s.converter : ot).toAttribute(e, s.type);
      this._$Em = t, i == null ? this.removeAttribute(n) : this.setAttribute(n, i), this._$Em = null;
    }
  }
  _$AK(t, e) {
    const s = this.constructor, n = s._$Eh.get(t);
    if (n !== void 0 && this._$Em !== n) {
      const i = s.getPropertyOptions(n), o = typeof i.converter == "function" ? { fromAttribute: i.converter } : i.converter?.fromAttribute !== void 0 ? i.converter : ot;
      this._$Em = n;
      const c = o.fromAttribute(e, i.type);
      this[n] = c ?? this._$Ej?.get(n) ?? c, this._$Em = null;
    }
  }
  requestUpdate(t, e, s, n = !1, i) {
    if (t !== void 0) {
      const o = this.constructor;
      if (n === !1 && (i = this[t]), s ??= o.getPropertyOptions(t), !((s.hasChanged ?? Ot)(i, e) || s.useDefault && s.reflect && i === this._$Ej?.get(t) && !this.hasAttribute(o._$Eu(t, s)))) return;
      this.C(t, e, s);
    }
    this.isUpdatePending === !1 && (this._$ES = this._$EP());
  }
  C(t, e, { useDefault: s, reflect: n, wrapped: i }, o) {
    s && !(this._$Ej ??= /* @__PURE__ */ new Map()).has(t) && (this._$Ej.set(t, o ?? e ?? this[t]), i !== !0 || o !== void 0) || (this._$AL.has(t) || (this.hasUpdated || s || (e = void 0), this._$AL.set(t, e)), n === !0 && this._$Em !== t && (this._$Eq ??= /* @__PURE__ */ new Set()).add(t));
  }
  async _$EP() {
    this.isUpdatePending = !0;
    try {
      await this._$ES;
    } catch (e) {
      Promise.reject(e);
    }
    const t = this.scheduleUpdate();
    return t != null && await t, !this.isUpdatePending;
  }
  scheduleUpdate() {
    return this.performUpdate();
  }
  performUpdate() {
    if (!this.isUpdatePending) return;
    if (!this.hasUpdated) {
      if (this.renderRoot ??= this.createRenderRoot(), this._$Ep) {
        for (const [n, i] of this._$Ep) this[n] = i;
        this._$Ep = void 0;
      }
      const s = this.constructor.elementProperties;
      if (s.size > 0) for (const [n, i] of s) {
        const { wrapped: o } = i, c = this[n];
        o !== !0 || this._$AL.has(n) || c === void 0 || this.C(n, void 0, i, c);
      }
    }
    let t = !1;
    const e = this._$AL;
    try {
      t = this.shouldUpdate(e), t ? (this.willUpdate(e), this._$EO?.forEach((s) => s.hostUpdate?.()), this.update(e)) : this._$EM();
    } catch (s) {
      throw t = !1, this._$EM(), s;
    }
    t && this._$AE(e);
  }
  willUpdate(t) {
  }
  _$AE(t) {
    this._$EO?.forEach((e) => e.hostUpdated?.()), this.hasUpdated || (this.hasUpdated = !0, this.firstUpdated(t)), this.updated(t);
  }
  _$EM() {
    this._$AL = /* @__PURE__ */ new Map(), this.isUpdatePending = !1;
  }
  get updateComplete() {
    return this.getUpdateComplete();
  }
  getUpdateComplete() {
    return this._$ES;
  }
  shouldUpdate(t) {
    return !0;
  }
  update(t) {
    this._$Eq &&= this._$Eq.forEach((e) => this._$ET(e, this[e])), this._$EM();
  }
  updated(t) {
  }
  firstUpdated(t) {
  }
};
M.elementStyles = [], M.shadowRootOptions = { mode: "open" }, M[O("elementProperties")] = /* @__PURE__ */ new Map(), M[O("finalized")] = /* @__PURE__ */ new Map(), se?.({ ReactiveElement: M }), (Y.reactiveElementVersions ??= []).push("2.1.2");
const dt = globalThis, kt = (r) => r, X = dt.trustedTypes, At = X ? X.createPolicy("lit-html", { createHTML: (r) => r }) : void 0, It = "$lit$", A = `lit$${Math.random().toFixed(9).slice(2)}$`, Wt = "?" + A, re = `<${Wt}>`, C = document, W = () => C.createComment(""), D = (r) => r === null || typeof r != "object" && typeof r != "function", ut = Array.isArray, ne = (r) => ut(r) || typeof r?.[Symbol.iterator] == "function", nt = `[ 	
\f\r]`, R = /<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g, Et = /-->/g, St = />/g, S = RegExp(`>|${nt}(?:([^\\s"'>=/]+)(${nt}*=${nt}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`, "g"), Pt = /'/g, Ct = /"/g, Dt = /^(?:script|style|textarea|title)$/i, Lt = (r) => (t, ...e) => ({ _$litType$: r, strings: t, values: e }), b = Lt(1), y = Lt(2), T = /* @__PURE__ */ Symbol.for("lit-noChange"), g = /* @__PURE__ */ Symbol.for("lit-nothing"), Mt = /* @__PURE__ */ new WeakMap(), P = C.createTreeWalker(C, 129);
function Bt(r, t) {
  if (!ut(r) || !r.hasOwnProperty("raw")) throw Error("invalid template strings array");
  return At !== void 0 ? At.createHTML(t) : t;
}
const ie = (r, t) => {
  const e = r.length - 1, s = [];
  let n, i = t === 2 ? "<svg>" : t === 3 ? "<math>" : "", o = R;
  for (let c = 0; c < e; c++) {
    const a = r[c];
    let h, l, d = -1, f = 0;
    for (; f < a.length && (o.lastIndex = f, l = o.exec(a), l !== null); ) f = o.lastIndex, o === R ? l[1] === "!--" ? o = Et : l[1] !== void 0 ? o = St : l[2] !== void 0 ? (Dt.test(l[2]) && (n = RegExp("</" + l[2], "g")), o = S) : l[3] !== void 0 && (o = S) : o === S ? l[0] === ">" ? (o = n ?? R, d = -1) : l[1] === void 0 ? d = -2 : (d = o.lastIndex - l[2].length, h = l[1], o = l[3] === void 0 ? S : l[3] === '"' ? Ct : Pt) : o === Ct || o === Pt ? o = S : o === Et || o === St ? o = R : (o = S, n = void 0);
    const _ = o === S && r[c + 1].startsWith("/>") ? " " : "";
    i += o === R ? a + re : d >= 0 ? (s.push(h), a.slice(0, d) + It + a.slice(d) + A + _) : a + A + (d === -2 ? c : _);
  }
  return [Bt(r, i + (r[e] || "<?>") + (t === 2 ? "</svg>" : t === 3 ? "</math>" : "")), s];
};
class L {
  constructor({ strings: t, _$litType$: e }, s) {
    let n;
    this.parts = [];
    let i = 0, o = 0;
    const c = t.length - 1, a = this.parts, [h, l] = ie(t, e);
    if (this.el = L.createElement(h, s), P.currentNode = this.el.content, e === 2 || e === 3) {
      const d = this.el.content.firstChild;
      d.replaceWith(...d.childNodes);
    }
    for (; (n = P.nextNode()) !== null && a.length < c; ) {
      if (n.nodeType === 1) {
        if (n.hasAttributes()) for (const d of n.getAttributeNames()) if (d.endsWith(It)) {
          const f = l[o++], _ = n.getAttribute(d).split(A), m = /([.?@])?(.*)/.exec(f);
          a.push({ type: 1, index: i, name: m[2], strings: _, ctor: m[1] === "." ? ae : m[1] === "?" ? ce : m[1] === "@" ? le : tt }), n.removeAttribute(d);
        } else d.startsWith(A) && (a.push({ type: 6, index: i }), n.removeAttribute(d));
        if (Dt.test(n.tagName)) {
          const d = n.textContent.split(A), f = d.length - 1;
          if (f > 0) {
            n.textContent = X ? X.emptyScript : "";
            for (let _ = 0; _ < f; _++) n.append(d[_], W()), P.nextNode(), a.push({ type: 2, index: ++i });
            n.append(d[f], W());
          }
        }
      } else if (n.nodeType === 8) if (n.data === Wt) a.push({ type: 2, index: i });
      else {
        let d = -1;
        for (; (d = n.data.indexOf(A, d + 1)) !== -1; ) a.push({ type: 7, index: i }), d += A.length - 1;
      }
      i++;
    }
  }
  static createElement(t, e) {
    const s = C.createElement("template");
    return s.innerHTML = t, s;
  }
}
function z(r, t, e = r, s) {
  if (t === T) return t;
  let n = s !== void 0 ? e._$Co?.[s] : e._$Cl;
  const i = D(t) ? void 0 : t._$litDirective$;
  return n?.constructor !== i && (n?._$AO?.(!1), i === void 0 ? n = void 0 : (n = new i(r), n._$AT(r, e, s)), s !== void 0 ? (e._$Co ??= [])[s] = n : e._$Cl = n), n !== void 0 && (t = z(r, n._$AS(r, t.values), n, s)), t;
}
class oe {
  constructor(t, e) {
    this._$AV = [], this._$AN = void 0, this._$AD = t, this._$AM = e;
  }
  get parentNode() {
    return this._$AM.parentNode;
  }
  get _$AU() {
    return this._$AM._$AU;
  }
  u(t) {
    const { el: { content: e }, parts: s } = this._$AD, n = (t?.creationScope ?? C).importNode(e, !0);
    P.currentNode = n;
    let i = P.nextNode(), o = 0, c = 0, a = s[0];
    for (; a !== void 0; ) {
      if (o === a.index) {
        let h;
        a.type === 2 ? h = new V(i, i.nextSibling, this, t) : a.type === 1 ? h = new a.ctor(i, a.name, a.strings, this, t) : a.type === 6 && (h = new he(i, this, t)), this._$AV.push(h), a = s[++c];
      }
      o !== a?.index && (i = P.nextNode(), o++);
    }
    return P.currentNode = C, n;
  }
  p(t) {
    let e = 0;
    for (const s of this._$AV) s !== void 0 && (s.strings !== void 0 ? (s._$AI(t, s, e), e += s.strings.length - 2) : s._$AI(t[e])), e++;
  }
}
class V {
  get _$AU() {
    return this._$AM?._$AU ?? this._$Cv;
  }
  constructor(t, e, s, n) {
    this.type = 2, this._$AH = g, this._$AN = void 0, this._$AA = t, this._$AB = e, this._$AM = s, this.options = n, this._$Cv = n?.isConnected ?? !0;
  }
  get parentNode() {
    let t = this._$AA.parentNode;
    const e = this._$AM;
    return e !== void 0 && t?.nodeType === 11 && (t = e.parentNode), t;
  }
  get startNode() {
    return this._$AA;
  }
  get endNode() {
    return this._$AB;
  }
  _$AI(t, e = this) {
    t = z(this, t, e), D(t) ? t === g || t == null || t === "" ? (this._$AH !== g && this._$AR(), this._$AH = g) : t !== this._$AH && t !== T && this._(t) : t._$litType$ !== void 0 ? this.$(t) : t.nodeType !== void 0 ? this.T(t) : ne(t) ? this.k(t) : this._(t);
  }
  O(t) {
    return this._$AA.parentNode.insertBefore(t, this._$AB);
  }
  T(t) {
    this._$AH !== t && (this._$AR(), this._$AH = this.O(t));
  }
  _(t) {
    this._$AH !== g && D(this._$AH) ? this._$AA.nextSibling.data = t : this.T(C.createTextNode(t)), this._$AH = t;
  }
  $(t) {
    const { values: e, _$litType$: s } = t, n = typeof s == "number" ? this._$AC(t) : (s.el === void 0 && (s.el = L.createElement(Bt(s.h, s.h[0]), this.options)), s);
    if (this._$AH?._$AD === n) this._$AH.p(e);
    else {
      const i = new oe(n, this), o = i.u(this.options);
      i.p(e), this.T(o), this._$AH = i;
    }
  }
  _$AC(t) {
    let e = Mt.get(t.strings);
    return e === void 0 && Mt.set(t.strings, e = new L(t)), e;
  }
  k(t) {
    ut(this._$AH) || (this._$AH = [], this._$AR());
    const e = this._$AH;
    let s, n = 0;
    for (const i of t) n === e.length ? e.push(s = new V(this.O(W()), this.O(W()), this, this.options)) : s = e[n], s._$AI(i), n++;
    n < e.length && (this._$AR(s && s._$AB.nextSibling, n), e.length = n);
  }
  _$AR(t = this._$AA.nextSibling, e) {
    for (this._$AP?.(!1, !0, e); t !== this._$AB; ) {
      const s = kt(t).nextSibling;
      kt(t).remove(), t = s;
    }
  }
  setConnected(t) {
    this._$AM === void 0 && (this._$Cv = t, this._$AP?.(t));
  }
}
class tt {
  get tagName() {
    return this.element.tagName;
  }
  get _$AU() {
    return this._$AM._$AU;
  }
  constructor(t, e, s, n, i) {
    this.type = 1, this._$AH = g, this._$AN = void 0, this.element = t, this.name = e, this._$AM = n, this.options = i, s.length > 2 || s[0] !== "" || s[1] !== "" ? (this._$AH = Array(s.length - 1).fill(new String()), this.strings = s) : this._$AH = g;
  }
  _$AI(t, e = this, s, n) {
    const i = this.strings;
    let o = !1;
    if (i === void 0) t = z(this, t, e, 0), o = !D(t) || t !== this._$AH && t !== T, o && (this._$AH = t);
    else {
      const c = t;
      let a, h;
      for (t = i[0], a = 0; a < i.length - 1; a++) h = z(this, c[s + a], e, a), h === T && (h = this._$AH[a]), o ||= !D(h) || h !== this._$AH[a], h === g ? t = g : t !== g && (t += (h ?? "") + i[a + 1]), this._$AH[a] = h;
    }
    o && !n && this.j(t);
  }
  j(t) {
    t === g ? this.element.removeAttribute(this.name) : this.element.setAttribute(this.name, t ?? "");
  }
}
class ae extends tt {
  constructor() {
    super(...arguments), this.type = 3;
  }
  j(t) {
    this.element[this.name] = t === g ? void 0 : t;
  }
}
class ce extends tt {
  constructor() {
    super(...arguments), this.type = 4;
  }
  j(t) {
    this.element.toggleAttribute(this.name, !!t && t !== g);
  }
}
class le extends tt {
  constructor(t, e, s, n, i) {
    super(t, e, s, n, i), this.type = 5;
  }
  _$AI(t, e = this) {
    if ((t = z(this, t, e, 0) ?? g) === T) return;
    const s = this._$AH, n = t === g && s !== g || t.capture !== s.capture || t.once !== s.once || t.passive !== s.passive, i = t !== g && (s === g || n);
    n && this.element.removeEventListener(this.name, this, s), i && this.element.addEventListener(this.name, this, t), this._$AH = t;
  }
  handleEvent(t) {
    typeof this._$AH == "function" ? this._$AH.call(this.options?.host ?? this.element, t) : this._$AH.handleEvent(t);
  }
}
class he {
  constructor(t, e, s) {
    this.element = t, this.type = 6, this._$AN = void 0, this._$AM = e, this.options = s;
  }
  get _$AU() {
    return this._$AM._$AU;
  }
  _$AI(t) {
    z(this, t);
  }
}
const de = dt.litHtmlPolyfillSupport;
de?.(L, V), (dt.litHtmlVersions ??= []).push("3.3.3");
const ue = (r, t, e) => {
  const s = e?.renderBefore ?? t;
  let n = s._$litPart$;
  if (n === void 0) {
    const i = e?.renderBefore ?? null;
    s._$litPart$ = n = new V(t.insertBefore(W(), i), i, void 0, e ?? {});
  }
  return n._$AI(r), n;
};
const pt = globalThis;
class H extends M {
  constructor() {
    super(...arguments), this.renderOptions = { host: this }, this._$Do = void 0;
  }
  createRenderRoot() {
    const t = super.createRenderRoot();
    return this.renderOptions.renderBefore ??= t.firstChild, t;
  }
  update(t) {
    const e = this.render();
    this.hasUpdated || (this.renderOptions.isConnected = this.isConnected), super.update(t), this._$Do = ue(e, this.renderRoot, this.renderOptions);
  }
  connectedCallback() {
    super.connectedCallback(), this._$Do?.setConnected(!0);
  }
  disconnectedCallback() {
    super.disconnectedCallback(), this._$Do?.setConnected(!1);
  }
  render() {
    return T;
  }
}
H._$litElement$ = !0, H.finalized = !0, pt.litElementHydrateSupport?.({ LitElement: H });
const pe = pt.litElementPolyfillSupport;
pe?.({ LitElement: H });
(pt.litElementVersions ??= []).push("4.2.2");
const ge = 5e-3, fe = 1;
function Ht(r, t) {
  const e = new Intl.DateTimeFormat("en-US", { timeZone: t, year: "numeric", month: "numeric" }).formatToParts(
    new Date(r)
  ), s = Number(e.find((i) => i.type === "year")?.value), n = Number(e.find((i) => i.type === "month")?.value);
  return s * 12 + n;
}
function _e(r) {
  return r.step_start.map((t, e) => {
    const s = Date.parse(t);
    return { t0: s, t1: s + r.dt_h[e] * 36e5 };
  });
}
function Nt(r, t) {
  for (let e = 0; e < r.length; e++)
    if (r[e].t0 <= t && t < r[e].t1) return e;
  return -1;
}
function me(r, t, e) {
  let s = null;
  for (let n = 0; n < r.length && r[n].t1 <= e; n++)
    s = t[n];
  return s;
}
function $e(r, t, e) {
  const s = r?.plan;
  if (!s || s.step_start.length === 0) return null;
  const n = Math.min(48, Math.max(1, e.hours ?? 48)), i = _e(s), o = e.now - fe * 36e5, c = e.now + n * 36e5, a = [];
  if (i.forEach((p, $) => {
    p.t1 > o && p.t0 < c && a.push($);
  }), a.length === 0) return null;
  const h = (p) => a.map(($) => p[$]), l = h(i), d = Ht(i[0].t0, e.timeZone), f = s.month_peak_kw ?? [], _ = l.map((p) => {
    if (f.length === 0) return null;
    const $ = Math.min(f.length - 1, Math.max(0, Ht(p.t0, e.timeZone) - d));
    return f[$];
  }), m = s.assets.map((p) => {
    const $ = t?.storages.find((v) => v.name === p.name), jt = a.map((v) => p.available[v] === !1 ? null : p.power_kw[v]), st = [];
    let k = [];
    const U = a[0];
    U > 0 && p.available[U - 1] !== !1 ? k.push({ t: i[U].t0, soc: p.soc[U - 1] }) : U === 0 && $?.soc != null && p.available[0] !== !1 && k.push({ t: i[0].t0, soc: $.soc });
    for (const v of a) {
      if (p.available[v] === !1) {
        k.length && st.push(k), k = [];
        continue;
      }
      k.push({ t: i[v].t1, soc: p.soc[v] });
    }
    k.length && st.push(k);
    const Ft = ($?.departures ?? []).map((v) => {
      const vt = Date.parse(v.at), rt = me(i, p.soc, vt);
      return { t: vt, target: v.target_soc, planned: rt, reached: rt !== null && rt >= v.target_soc - ge };
    }).filter((v) => v.t >= l[0].t0 && v.t <= l[l.length - 1].t1);
    return {
      name: p.name,
      kind: p.kind,
      power: jt,
      soc: st,
      minSoc: $ ? $.min_soc : null,
      maxSoc: $ ? $.max_soc : null,
      liveSoc: $?.soc ?? null,
      boost: $?.boost ?? !1,
      targets: Ft
    };
  }), w = Nt(i, e.now);
  return {
    steps: l,
    t0: l[0].t0,
    t1: l[l.length - 1].t1,
    now: e.now,
    nowIndex: Nt(l, e.now),
    importPrice: h(s.import_price),
    exportPrice: h(s.export_price),
    pv: h(s.pv_kw),
    load: h(s.load_kw),
    grid: a.map((p) => s.grid_import_kw[p] - s.grid_export_kw[p]),
    peakBudget: _,
    assets: m,
    reason: w >= 0 ? s.reasons[w] : null,
    seq: r?.seq ?? null,
    source: r?.source ?? null
  };
}
function Z(r, t = []) {
  let e = 0, s = 0;
  for (const i of [...r, ...t])
    i == null || !Number.isFinite(i) || (e = Math.min(e, i), s = Math.max(s, i));
  s - e < 1e-9 && (s = e + 1);
  const n = (s - e) * 0.08;
  return [e < 0 ? e - n : e, s > 0 ? s + n : s];
}
function ve(r, t) {
  const e = t?.entities ?? {}, s = e["sensor.status"], n = s ? r[s]?.state : void 0;
  if (n && n !== "unknown" && n !== "unavailable") return n;
  const i = e["binary_sensor.fail_safe"];
  if (i && r[i]?.state === "on") return "fail_safe";
  for (const [o, c] of Object.entries(e))
    if (o.endsWith("_boost_active") && r[c]?.state === "on") return "boost";
  return "unknown";
}
function ye(r, t, e) {
  const s = t?.entities[`binary_sensor.${e}_boost_active`];
  return s && r[s] ? r[s].state === "on" : t?.storages.find((n) => n.name === e)?.boost ?? !1;
}
const we = ["en", "nl", "de", "sv"], gt = {
  card_name: "HEMS plan",
  card_description: "What the cars and the house will do, why, and a Boost button",
  title: "Energy plan",
  loading: "Loading the plan…",
  no_plan: "No plan yet: the rule-based fallback is running",
  no_site: "No HEMS site found",
  error: "Could not load the plan: {error}",
  now: "now",
  reason_now: "Now",
  prices: "Price (€/kWh)",
  import_price: "Import",
  export_price: "Export",
  forecast: "PV and load (kW)",
  pv: "PV",
  load: "Load",
  grid: "Grid (kW, import ↑ export ↓)",
  peak_budget: "Peak budget",
  power: "Power",
  charge_discharge: "kW, charge ↑ discharge ↓",
  soc: "SoC",
  min_soc: "Minimum",
  target: "Target",
  departure: "Departure {time}: {target} (plan {planned})",
  departure_ok: "reached",
  departure_short: "short",
  boost: "Boost",
  cancel_boost: "Cancel boost",
  battery: "Home battery",
  "status.waiting_for_data": "Waiting for data",
  "status.planning": "Planning",
  "status.following_plan": "Tracking the plan",
  "status.fallback": "Fallback rules",
  "status.boost": "Boost",
  "status.fail_safe": "Fail-safe",
  "status.island": "Island (grid down)",
  "status.off": "Off",
  "status.unknown": "Unknown",
  "editor.config_entry_id": "HEMS site",
  "editor.title": "Title",
  "editor.hours": "Hours ahead",
  "editor.show_prices": "Show prices",
  "editor.show_forecast": "Show PV and load",
  "editor.show_grid": "Show grid exchange",
  // Step reasons (from hems_core's planner)
  "reason.hold": "Holding: nothing worth doing",
  "reason.charge": "Charging {name}: {why} ({price})",
  "reason.discharge": "Discharging {name}: {why} ({price})",
  "reason.curtail": "Curtailing PV (export {price})",
  "reason.peak": "Import held at the month's peak",
  "reason.shed": "Load above the grid limit: shed {kw}",
  "why.PV surplus": "PV surplus",
  "why.cheap import": "cheap import",
  "why.departure target": "for the departure target",
  "why.price": "price",
  "why.to other storage": "into other storage",
  "why.peak shaving": "peak shaving",
  "why.expensive import": "expensive import",
  "why.cover load": "covering the house load"
}, be = {
  card_name: "HEMS-plan",
  card_description: "Wat de auto's en het huis gaan doen, waarom, en een Boost-knop",
  title: "Energieplan",
  loading: "Plan laden…",
  no_plan: "Nog geen plan: de regels als terugval draaien",
  no_site: "Geen HEMS-locatie gevonden",
  error: "Plan laden mislukt: {error}",
  now: "nu",
  reason_now: "Nu",
  prices: "Prijs (€/kWh)",
  import_price: "Afname",
  export_price: "Teruglevering",
  forecast: "Zon en verbruik (kW)",
  pv: "Zon",
  load: "Verbruik",
  grid: "Net (kW, afname ↑ teruglevering ↓)",
  peak_budget: "Piekbudget",
  power: "Vermogen",
  charge_discharge: "kW, laden ↑ ontladen ↓",
  soc: "Laadtoestand",
  min_soc: "Minimum",
  target: "Doel",
  departure: "Vertrek {time}: {target} (plan {planned})",
  departure_ok: "gehaald",
  departure_short: "te weinig",
  boost: "Boost",
  cancel_boost: "Boost stoppen",
  battery: "Thuisbatterij",
  "status.waiting_for_data": "Wacht op gegevens",
  "status.planning": "Plannen",
  "status.following_plan": "Volgt het plan",
  "status.fallback": "Terugvalregels",
  "status.boost": "Boost",
  "status.fail_safe": "Noodstand",
  "status.island": "Eilandbedrijf (net weg)",
  "status.off": "Uit",
  "status.unknown": "Onbekend",
  "editor.config_entry_id": "HEMS-locatie",
  "editor.title": "Titel",
  "editor.hours": "Uren vooruit",
  "editor.show_prices": "Prijzen tonen",
  "editor.show_forecast": "Zon en verbruik tonen",
  "editor.show_grid": "Netuitwisseling tonen",
  "reason.hold": "Wachten: niets de moeite waard",
  "reason.charge": "{name} laden: {why} ({price})",
  "reason.discharge": "{name} ontladen: {why} ({price})",
  "reason.curtail": "Zonnestroom beperkt (teruglevering {price})",
  "reason.peak": "Afname op de maandpiek gehouden",
  "reason.shed": "Verbruik boven de netlimiet: {kw} afschakelen",
  "why.PV surplus": "zonne-overschot",
  "why.cheap import": "goedkope afname",
  "why.departure target": "voor het vertrekdoel",
  "why.price": "prijs",
  "why.to other storage": "naar andere opslag",
  "why.peak shaving": "piek afvlakken",
  "why.expensive import": "dure afname",
  "why.cover load": "dekt het huisverbruik"
}, xe = {
  card_name: "HEMS-Plan",
  card_description: "Was Autos und Haus tun werden, warum, und ein Boost-Knopf",
  title: "Energieplan",
  loading: "Plan wird geladen…",
  no_plan: "Noch kein Plan: die Rückfallregeln laufen",
  no_site: "Kein HEMS-Standort gefunden",
  error: "Plan konnte nicht geladen werden: {error}",
  now: "jetzt",
  reason_now: "Jetzt",
  prices: "Preis (€/kWh)",
  import_price: "Bezug",
  export_price: "Einspeisung",
  forecast: "PV und Verbrauch (kW)",
  pv: "PV",
  load: "Verbrauch",
  grid: "Netz (kW, Bezug ↑ Einspeisung ↓)",
  peak_budget: "Spitzenbudget",
  power: "Leistung",
  charge_discharge: "kW, Laden ↑ Entladen ↓",
  soc: "Ladestand",
  min_soc: "Minimum",
  target: "Ziel",
  departure: "Abfahrt {time}: {target} (Plan {planned})",
  departure_ok: "erreicht",
  departure_short: "zu wenig",
  boost: "Boost",
  cancel_boost: "Boost abbrechen",
  battery: "Hausbatterie",
  "status.waiting_for_data": "Wartet auf Daten",
  "status.planning": "Plant",
  "status.following_plan": "Folgt dem Plan",
  "status.fallback": "Rückfallregeln",
  "status.boost": "Boost",
  "status.fail_safe": "Sicherheitsmodus",
  "status.island": "Inselbetrieb (Netz weg)",
  "status.off": "Aus",
  "status.unknown": "Unbekannt",
  "editor.config_entry_id": "HEMS-Standort",
  "editor.title": "Titel",
  "editor.hours": "Stunden voraus",
  "editor.show_prices": "Preise zeigen",
  "editor.show_forecast": "PV und Verbrauch zeigen",
  "editor.show_grid": "Netzaustausch zeigen",
  "reason.hold": "Halten: nichts lohnt sich",
  "reason.charge": "{name} laden: {why} ({price})",
  "reason.discharge": "{name} entladen: {why} ({price})",
  "reason.curtail": "PV abgeregelt (Einspeisung {price})",
  "reason.peak": "Bezug auf der Monatsspitze gehalten",
  "reason.shed": "Verbrauch über dem Netzlimit: {kw} abwerfen",
  "why.PV surplus": "PV-Überschuss",
  "why.cheap import": "günstiger Bezug",
  "why.departure target": "für das Abfahrtsziel",
  "why.price": "Preis",
  "why.to other storage": "in anderen Speicher",
  "why.peak shaving": "Spitzenkappung",
  "why.expensive import": "teurer Bezug",
  "why.cover load": "deckt den Hausverbrauch"
}, ke = {
  card_name: "HEMS-plan",
  card_description: "Vad bilarna och huset kommer att göra, varför, och en Boost-knapp",
  title: "Energiplan",
  loading: "Laddar planen…",
  no_plan: "Ingen plan än: reservreglerna körs",
  no_site: "Ingen HEMS-anläggning hittades",
  error: "Kunde inte ladda planen: {error}",
  now: "nu",
  reason_now: "Nu",
  prices: "Pris (€/kWh)",
  import_price: "Köp",
  export_price: "Sälj",
  forecast: "Sol och förbrukning (kW)",
  pv: "Sol",
  load: "Förbrukning",
  grid: "Nät (kW, köp ↑ sälj ↓)",
  peak_budget: "Effekttak",
  power: "Effekt",
  charge_discharge: "kW, laddning ↑ urladdning ↓",
  soc: "Laddnivå",
  min_soc: "Minimum",
  target: "Mål",
  departure: "Avresa {time}: {target} (plan {planned})",
  departure_ok: "nås",
  departure_short: "för lite",
  boost: "Boost",
  cancel_boost: "Avbryt boost",
  battery: "Hembatteri",
  "status.waiting_for_data": "Väntar på data",
  "status.planning": "Planerar",
  "status.following_plan": "Följer planen",
  "status.fallback": "Reservregler",
  "status.boost": "Boost",
  "status.fail_safe": "Felsäkert läge",
  "status.island": "Ö-drift (nätet borta)",
  "status.off": "Av",
  "status.unknown": "Okänt",
  "editor.config_entry_id": "HEMS-anläggning",
  "editor.title": "Titel",
  "editor.hours": "Timmar framåt",
  "editor.show_prices": "Visa priser",
  "editor.show_forecast": "Visa sol och förbrukning",
  "editor.show_grid": "Visa nätutbyte",
  "reason.hold": "Väntar: inget lönar sig",
  "reason.charge": "Laddar {name}: {why} ({price})",
  "reason.discharge": "Laddar ur {name}: {why} ({price})",
  "reason.curtail": "Begränsar solel (sälj {price})",
  "reason.peak": "Köp hålls vid månadens topp",
  "reason.shed": "Förbrukning över nätgränsen: koppla bort {kw}",
  "why.PV surplus": "solöverskott",
  "why.cheap import": "billigt köp",
  "why.departure target": "för avresemålet",
  "why.price": "pris",
  "why.to other storage": "till annat lager",
  "why.peak shaving": "toppkapning",
  "why.expensive import": "dyrt köp",
  "why.cover load": "täcker husets förbrukning"
}, Ae = { en: gt, nl: be, de: xe, sv: ke };
function ft(r) {
  const t = (r ?? "en").toLowerCase().split(/[-_]/)[0];
  return we.includes(t) ? t : "en";
}
function et(r) {
  const t = Ae[r];
  return (e, s) => {
    const n = t[e] ?? gt[e] ?? e;
    return s ? n.replace(/\{(\w+)\}/g, (i, o) => s[o] ?? i) : n;
  };
}
function _t(r, t, e) {
  return new Intl.NumberFormat(r, {
    minimumFractionDigits: e,
    maximumFractionDigits: e
  }).format(t);
}
function it(r, t) {
  return `${_t(r, t, 3)} €/kWh`;
}
function Ee(r, t) {
  return `${_t(r, t, Math.abs(t) < 10 ? 1 : 0)} kW`;
}
function Tt(r, t) {
  return `${_t(r, t * 100, 0)} %`;
}
const Se = /^charge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/, Pe = /^discharge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/, Ce = /^curtail PV \(export (-?[\d.]+) EUR\/kWh\)$/, Me = /^load above the grid limit: shed (-?[\d.]+) kW$/;
function He(r, t, e) {
  const s = et(t), n = (c) => e?.[c] ?? c, i = (c) => {
    const a = `why.${c}`;
    return a in gt ? s(a) : c;
  };
  return r.split("; ").map((c) => {
    let a;
    return c === "hold" ? s("reason.hold") : c === "import held at the month peak" ? s("reason.peak") : (a = c.match(Se)) ? s("reason.charge", { name: n(a[1]), why: i(a[2]), price: it(t, Number(a[3])) }) : (a = c.match(Pe)) ? s("reason.discharge", { name: n(a[1]), why: i(a[2]), price: it(t, Number(a[3])) }) : (a = c.match(Ce)) ? s("reason.curtail", { price: it(t, Number(a[1])) }) : (a = c.match(Me)) ? s("reason.shed", { kw: Ee(t, Number(a[1])) }) : c;
  }).join("; ");
}
const N = 38, zt = 34, E = 16, Ne = 20, G = 64, q = 64, K = 72, mt = 104, x = 8, u = (r) => r.toFixed(1);
function I(r, t, e, s) {
  return (n) => e + s - (n - r) / (t - r) * s;
}
function Ut(r, t, e) {
  return new Intl.NumberFormat(r, { maximumFractionDigits: e, minimumFractionDigits: e }).format(t);
}
function j(r, t, e, s) {
  let n = "", i = !1;
  return r.steps.forEach((o, c) => {
    const a = s[c];
    if (a == null) {
      i = !1;
      return;
    }
    const h = t.x(o.t0), l = t.x(o.t1);
    n += `${i ? "L" : "M"}${u(h)},${u(e(a))}L${u(l)},${u(e(a))}`, i = !0;
  }), n;
}
function Te(r, t, e, s) {
  if (r.steps.length === 0) return "";
  let n = `M${u(t.x(r.steps[0].t0))},${u(e(0))}`;
  return r.steps.forEach((i, o) => {
    n += `L${u(t.x(i.t0))},${u(e(s[o]))}L${u(t.x(i.t1))},${u(e(s[o]))}`;
  }), n + `L${u(t.x(r.steps[r.steps.length - 1].t1))},${u(e(0))}Z`;
}
function Vt(r, t, e, s, n, i) {
  const o = [], c = e(0);
  return r.steps.forEach((a, h) => {
    const l = s[h];
    if (l == null || Math.abs(l) < 0.01) return;
    const d = t.x(a.t0), f = Math.max(0.6, t.x(a.t1) - d - 0.4), _ = e(l);
    o.push(
      y`<rect class=${l > 0 ? n : i} x=${u(d)} y=${u(Math.min(c, _))} width=${u(f)} height=${u(Math.abs(_ - c))}></rect>`
    );
  }), o;
}
function J(r, t, e, s, n, i, o, c, a) {
  return y`
    <text class="ptitle" x=${N} y=${r - 4}>${s}</text>
    <rect class="pframe" x=${e.x0} y=${r} width=${e.x1 - e.x0} height=${t}></rect>
    ${n < 0 && i > 0 ? y`<line class="zero" x1=${e.x0} x2=${e.x1} y1=${u(o(0))} y2=${u(o(0))}></line>` : null}
    <text class="tick" x=${N - 4} y=${r + 9} text-anchor="end">${Ut(c, i, a)}</text>
    <text class="tick" x=${N - 4} y=${r + t} text-anchor="end">${Ut(c, n, a)}</text>`;
}
function ze(r, t, e, s, n) {
  const i = mt, [o, c] = Z(r.power), a = I(o, c, s, i), h = I(0, 1, s, i), l = n.names[r.name] ?? r.name, d = r.soc.map(
    (m) => y`<polyline class="soc" points=${m.map((w) => `${u(e.x(w.t))},${u(h(w.soc))}`).join(" ")}></polyline>`
  ), f = r.targets.map((m) => {
    const w = e.x(m.t), p = h(m.target);
    return y`
      <g class=${m.reached ? "target ok" : "target short"} data-target=${m.target} data-planned=${m.planned ?? ""}>
        <line class="dep" x1=${u(w)} x2=${u(w)} y1=${s} y2=${s + i}></line>
        <path class="mark" d=${`M${u(w)},${u(p - 5)}l5,5l-5,5l-5,-5z`}></path>
        <text class="tlabel" x=${u(w - 7)} y=${u(Math.max(s + 10, p - 6))} text-anchor="end">${n.t("target")} ${Tt(n.lang, m.target)}</text>
      </g>`;
  }), _ = r.minSoc != null ? y`<line class="minsoc" x1=${e.x0} x2=${e.x1} y1=${u(h(r.minSoc))} y2=${u(h(r.minSoc))}></line>
          <text class="tlabel minl" x=${e.x1 - 3} y=${u(h(r.minSoc) - 3)} text-anchor="end">${n.t("min_soc")} ${Tt(n.lang, r.minSoc)}</text>` : null;
  return y`
    <g class="asset" data-asset=${r.name}>
      ${J(s, i, e, `${l} · ${n.t("power")} (${n.t("charge_discharge")}) · ${n.t("soc")}`, o, c, a, n.lang, 1)}
      ${Vt(t, e, a, r.power, "charge", "discharge")}
      ${_}
      ${d}
      ${f}
      <text class="tick" x=${e.x1 + 3} y=${s + 9}>100%</text>
      <text class="tick" x=${e.x1 + 3} y=${s + i / 2 + 4}>50%</text>
      <text class="tick" x=${e.x1 + 3} y=${s + i}>0%</text>
    </g>`;
}
function Ue(r, t, e, s, n) {
  const i = n.width < 520 ? 6 : 3, o = new Intl.DateTimeFormat(n.lang, { hour: "2-digit", minute: "2-digit", hour12: !1, timeZone: n.timeZone }), c = new Intl.DateTimeFormat("en-GB", { hour: "numeric", hour12: !1, timeZone: n.timeZone }), a = [], h = Math.ceil(r.t0 / 36e5) * 36e5;
  for (let l = h; l <= r.t1; l += 36e5) {
    if (Number(c.format(new Date(l))) % 24 % i !== 0) continue;
    const f = t.x(l);
    a.push(y`<line class="grid" x1=${u(f)} x2=${u(f)} y1=${e} y2=${s}></line>
      <text class="tick" x=${u(f)} y=${s + 13} text-anchor="middle">${o.format(new Date(l))}</text>`);
  }
  return a;
}
function Re(r, t) {
  let e = 8;
  return t.showPrices && (e += E + G + x), t.showForecast && (e += E + q + x), t.showGrid && (e += E + K + x), e += r.assets.length * (E + mt + x), e + Ne;
}
function Oe(r, t) {
  const e = Math.max(280, t.width), s = {
    x0: N,
    x1: e - zt,
    x: (h) => N + (h - r.t0) / (r.t1 - r.t0) * (e - zt - N)
  }, n = Re(r, t), i = [];
  let o = 8;
  if (t.showPrices) {
    o += E;
    const [h, l] = Z(r.importPrice, r.exportPrice), d = I(h, l, o, G);
    i.push(y`<g class="panel prices">
      ${J(o, G, s, `${t.t("prices")}: ${t.t("import_price")} / ${t.t("export_price")}`, h, l, d, t.lang, 2)}
      <path class="imp line" d=${j(r, s, d, r.importPrice)}></path>
      <path class="exp line" d=${j(r, s, d, r.exportPrice)}></path></g>`), o += G + x;
  }
  if (t.showForecast) {
    o += E;
    const [h, l] = Z(r.pv, r.load), d = I(h, l, o, q);
    i.push(y`<g class="panel forecast">
      ${J(o, q, s, `${t.t("forecast")}: ${t.t("pv")} / ${t.t("load")}`, h, l, d, t.lang, 1)}
      <path class="pv" d=${Te(r, s, d, r.pv)}></path>
      <path class="load line" d=${j(r, s, d, r.load)}></path></g>`), o += q + x;
  }
  if (t.showGrid) {
    o += E;
    const [h, l] = Z(r.grid, r.peakBudget), d = I(h, l, o, K);
    i.push(y`<g class="panel grid-panel">
      ${J(o, K, s, `${t.t("grid")} · ${t.t("peak_budget")} - -`, h, l, d, t.lang, 1)}
      ${Vt(r, s, d, r.grid, "import", "export")}
      <path class="budget" d=${j(r, s, d, r.peakBudget)}></path></g>`), o += K + x;
  }
  for (const h of r.assets)
    o += E, i.push(ze(h, r, s, o, t)), o += mt + x;
  const c = o - x, a = r.now >= r.t0 && r.now <= r.t1 ? s.x(r.now) : null;
  return y`<svg class="chart" width=${e} height=${n} viewBox=${`0 0 ${e} ${n}`} role="img">
    ${Ue(r, s, 8, c, t)}
    ${i}
    ${a == null ? null : y`<g class="now"><line x1=${u(a)} x2=${u(a)} y1=${8} y2=${c}></line>
          <text x=${u(a + 3)} y=${c - 3}>${t.t("now")}</text></g>`}
  </svg>`;
}
const Ie = [
  { name: "config_entry_id", selector: { config_entry: { integration: "hems" } } },
  { name: "title", selector: { text: {} } },
  { name: "hours", selector: { number: { min: 6, max: 48, step: 6, mode: "slider" } } },
  {
    type: "grid",
    name: "",
    schema: [
      { name: "show_prices", selector: { boolean: {} } },
      { name: "show_forecast", selector: { boolean: {} } },
      { name: "show_grid", selector: { boolean: {} } }
    ]
  }
], $t = class $t extends H {
  constructor() {
    super(...arguments), this._label = (t) => et(ft(this.hass?.locale?.language ?? this.hass?.language))(`editor.${t.name}`);
  }
  setConfig(t) {
    this._config = t;
  }
  _changed(t) {
    t.stopPropagation();
    const e = { ...t.detail.value };
    this._config = e, this.dispatchEvent(new CustomEvent("config-changed", { detail: { config: e }, bubbles: !0, composed: !0 }));
  }
  render() {
    return b`<ha-form
      .hass=${this.hass}
      .data=${{ hours: 24, show_prices: !0, show_forecast: !0, show_grid: !0, ...this._config }}
      .schema=${Ie}
      .computeLabel=${this._label}
      @value-changed=${this._changed}
    ></ha-form>`;
  }
};
$t.properties = { hass: { attribute: !1 }, _config: { state: !0 } };
let at = $t;
customElements.get("hems-plan-card-editor") || customElements.define("hems-plan-card-editor", at);
const B = "hems-plan-card", We = 6e4, Q = class Q extends H {
  constructor() {
    super(...arguments), this._width = 400, this._busy = !1, this._watch = "", this._loading = !1;
  }
  static getConfigElement() {
    return document.createElement("hems-plan-card-editor");
  }
  static getStubConfig() {
    return { type: `custom:${B}`, hours: 24 };
  }
  setConfig(t) {
    if (!t) throw new Error("Invalid configuration");
    const e = t.config_entry_id !== this._config?.config_entry_id;
    this._config = { hours: 24, show_prices: !0, show_forecast: !0, show_grid: !0, ...t }, e && (this._entryId = t.config_entry_id, this._plan = void 0, this._info = void 0, this.hass && this._load());
  }
  getCardSize() {
    return 8;
  }
  /** Sections view: full width, tall. */
  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: 8, min_rows: 4 };
  }
  connectedCallback() {
    super.connectedCallback(), this._timer = window.setInterval(() => {
      this._load();
    }, We), this._resize = new ResizeObserver((t) => {
      const e = Math.floor(t[0].contentRect.width);
      e > 0 && Math.abs(e - this._width) > 2 && (this._width = e);
    }), this._resize.observe(this), this.hass && (this._load(), this._subscribe());
  }
  disconnectedCallback() {
    super.disconnectedCallback(), window.clearInterval(this._timer), this._resize?.disconnect(), this._unsub?.(), this._unsub = void 0;
  }
  get _lang() {
    return ft(this.hass?.locale?.language ?? this.hass?.language);
  }
  get _t() {
    return et(this._lang);
  }
  willUpdate(t) {
    if (!t.has("hass") || !this.hass) return;
    if (t.get("hass") === void 0) {
      this._load(), this._subscribe();
      return;
    }
    const s = this._info?.entities ?? {}, i = Object.entries(s).filter(([o]) => o === "sensor.status" || o.endsWith("_boost_active") || o === "binary_sensor.fail_safe").map(([, o]) => o).map((o) => `${o}=${this.hass.states[o]?.state}`).join("|");
    if (i !== this._watch) {
      const o = this._watch !== "";
      this._watch = i, o && this._load();
    }
  }
  async _subscribe() {
    if (!(this._unsub || !this.hass?.connection.subscribeEvents))
      try {
        this._unsub = await this.hass.connection.subscribeEvents((t) => {
          const e = t.data;
          this._entryId && e.entry_id !== this._entryId || (e.type === "plan_changed" || e.type === "boost_started" || e.type === "boost_ended") && this._load();
        }, "hems_event");
      } catch {
        this._unsub = void 0;
      }
  }
  async _resolveEntry() {
    if (this._entryId) return this._entryId;
    const t = await this.hass.callWS({ type: "hems/card_info" });
    return this._entryId = t.entries[0]?.entry_id, this._entryId;
  }
  async _load() {
    if (!(!this.hass || this._loading)) {
      this._loading = !0;
      try {
        const t = await this._resolveEntry();
        if (!t) {
          this._error = this._t("no_site");
          return;
        }
        const [e, s] = await Promise.all([
          this.hass.connection.sendMessagePromise({
            type: "call_service",
            domain: "hems",
            service: "get_plan",
            service_data: { config_entry_id: t },
            return_response: !0
          }),
          this.hass.callWS({ type: "hems/card_info", config_entry_id: t }).catch(() => null)
        ]);
        this._plan = e.response, this._info = s, this._error = void 0;
      } catch (t) {
        this._error = this._t("error", { error: t.message ?? String(t) });
      } finally {
        this._loading = !1;
      }
    }
  }
  async _boost(t, e) {
    if (!(!this.hass || !this._entryId)) {
      this._busy = !0;
      try {
        await this.hass.callService("hems", e ? "start_boost" : "cancel_boost", {
          config_entry_id: this._entryId,
          car: t
        }), this._error = void 0;
      } catch (s) {
        this._error = s.message ?? String(s);
      } finally {
        this._busy = !1, this._load();
      }
    }
  }
  _names() {
    const t = {};
    for (const e of this._info?.storages ?? []) e.kind === "battery" && (t[e.name] = this._t("battery"));
    for (const e of this._plan?.plan?.assets ?? []) e.kind === "battery" && (t[e.name] = this._t("battery"));
    return t;
  }
  _model() {
    return $e(this._plan ?? null, this._info ?? null, {
      now: Date.now(),
      hours: this._config?.hours,
      timeZone: this.hass?.config?.time_zone
    });
  }
  _status() {
    const t = ve(this.hass?.states ?? {}, this._info ?? null), e = `status.${t}`;
    return b`<span class="status ${t === "fail_safe" || t === "island" ? "bad" : t === "boost" ? "boost" : ""}" data-status=${t}>${this._t(e) === e ? t : this._t(e)}</span>`;
  }
  _cars(t) {
    const e = this._t;
    return (this._plan?.plan?.assets ?? this._info?.storages ?? []).filter((n) => n.kind === "ev").map((n) => {
      const i = ye(this.hass?.states ?? {}, this._info ?? null, n.name), o = t?.assets.find((d) => d.name === n.name), c = this.hass?.config?.time_zone, a = o?.targets[0], h = a ? new Intl.DateTimeFormat(this._lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hour12: !1, timeZone: c }).format(new Date(a.t)) : "", l = (d) => d == null ? "–" : `${Math.round(d * 100)} %`;
      return b`<div class="car" data-car=${n.name}>
        <div class="carline">
          <b>${n.name}</b>
          <span class="soc-now">${this._t("soc")} ${l(o?.liveSoc)}</span>
          ${a ? b`<span class="dep-text ${a.reached ? "ok" : "short"}"
                >${e("departure", { time: h, target: l(a.target), planned: l(a.planned) })}
                ${a.reached ? "✓ " + e("departure_ok") : "✗ " + e("departure_short")}</span
              >` : g}
        </div>
        <button
          class="boost ${i ? "active" : ""}"
          ?disabled=${this._busy}
          @click=${() => {
        this._boost(n.name, !i);
      }}
          data-action=${i ? "cancel_boost" : "start_boost"}
        >
          ${e(i ? "cancel_boost" : "boost")}
        </button>
      </div>`;
    });
  }
  render() {
    const t = this._t, e = this._config ?? {}, s = this._model(), n = s?.reason ? He(s.reason, this._lang, this._names()) : null;
    let i;
    return s ? i = b`<div class="chartbox">
        ${Oe(s, {
      width: this._width - 18,
      lang: this._lang,
      t,
      timeZone: this.hass?.config?.time_zone,
      showPrices: e.show_prices !== !1,
      showForecast: e.show_forecast !== !1,
      showGrid: e.show_grid !== !1,
      names: this._names()
    })}
      </div>` : this._plan === void 0 && !this._error ? i = b`<div class="msg">${t("loading")}</div>` : i = b`<div class="msg">${this._plan ? t("no_plan") : g}</div>`, b`<ha-card>
      <div class="head">
        <span class="title">${e.title ?? this._info?.title ?? t("title")}</span>
        ${this._status()}
      </div>
      ${n ? b`<div class="reason"><b>${t("reason_now")}:</b> <span class="reason-text">${n}</span></div>` : g}
      ${this._cars(s)}
      ${this._error ? b`<div class="error">${this._error}</div>` : g}
      ${i}
    </ha-card>`;
  }
};
Q.properties = {
  hass: { attribute: !1 },
  _config: { state: !0 },
  _plan: { state: !0 },
  _info: { state: !0 },
  _error: { state: !0 },
  _width: { state: !0 },
  _busy: { state: !0 }
}, Q.styles = Gt`
    :host {
      display: block;
      --hems-import: var(--energy-grid-consumption-color, #488fc2);
      --hems-export: var(--energy-grid-return-color, #8353d1);
      --hems-pv: var(--energy-solar-color, #ff9800);
      --hems-charge: var(--energy-battery-in-color, #f06292);
      --hems-discharge: var(--energy-battery-out-color, #4db6ac);
      --hems-soc: var(--primary-color, #03a9f4);
      --hems-budget: var(--error-color, #db4437);
      --hems-ok: var(--success-color, #43a047);
    }
    ha-card {
      display: block;
      padding: 12px 8px 8px;
      overflow: hidden;
      color: var(--primary-text-color);
      background: var(--ha-card-background, var(--card-background-color, #fff));
    }
    .head { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 0 8px 6px; }
    .title { font-size: 1.2em; font-weight: 500; }
    .status {
      font-size: 0.85em; padding: 2px 10px; border-radius: 12px;
      background: var(--secondary-background-color, #eee); color: var(--primary-text-color); white-space: nowrap;
    }
    .status.boost { background: var(--hems-charge); color: #fff; }
    .status.bad { background: var(--hems-budget); color: #fff; }
    .reason { padding: 0 8px 6px; font-size: 0.92em; color: var(--secondary-text-color); }
    .car { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 4px 8px; flex-wrap: wrap; }
    .carline { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; font-size: 0.92em; min-width: 0; flex: 1 1 200px; }
    .dep-text.ok { color: var(--hems-ok); }
    .dep-text.short { color: var(--hems-budget); }
    button.boost {
      font: inherit; font-weight: 500; border: none; border-radius: 18px; padding: 6px 16px; cursor: pointer;
      background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); min-height: 36px;
    }
    button.boost.active { background: var(--secondary-background-color, #ddd); color: var(--primary-text-color); }
    button.boost[disabled] { opacity: 0.6; cursor: progress; }
    .error { color: var(--error-color, #db4437); padding: 4px 8px; font-size: 0.9em; }
    .msg { padding: 16px 8px; color: var(--secondary-text-color); }
    .chartbox { width: 100%; overflow: hidden; }
    svg.chart { display: block; font-family: inherit; }
    svg .ptitle { font-size: 11px; fill: var(--secondary-text-color); }
    svg .tick { font-size: 10px; fill: var(--secondary-text-color); }
    svg .pframe { fill: none; stroke: var(--divider-color, rgba(127, 127, 127, 0.3)); }
    svg .grid { stroke: var(--divider-color, rgba(127, 127, 127, 0.3)); stroke-dasharray: 2 3; }
    svg .zero { stroke: var(--secondary-text-color); stroke-width: 0.6; opacity: 0.6; }
    svg .line { fill: none; stroke-width: 1.6; }
    svg .imp { stroke: var(--hems-import); }
    svg .exp { stroke: var(--hems-export); stroke-dasharray: 5 2; }
    svg .pv { fill: var(--hems-pv); opacity: 0.45; stroke: var(--hems-pv); }
    svg .load { stroke: var(--primary-text-color); opacity: 0.8; }
    svg .import { fill: var(--hems-import); }
    svg .export { fill: var(--hems-export); }
    svg .charge { fill: var(--hems-charge); }
    svg .discharge { fill: var(--hems-discharge); }
    svg .budget { fill: none; stroke: var(--hems-budget); stroke-width: 1.5; stroke-dasharray: 6 3; }
    svg .soc { fill: none; stroke: var(--hems-soc); stroke-width: 2.2; }
    svg .minsoc { stroke: var(--hems-budget); stroke-width: 1; stroke-dasharray: 3 3; opacity: 0.8; }
    svg .dep { stroke: var(--primary-text-color); stroke-width: 1; stroke-dasharray: 1 2; }
    svg .target.ok .mark { fill: var(--hems-ok); }
    svg .target.short .mark { fill: var(--hems-budget); }
    svg .tlabel { font-size: 10px; fill: var(--primary-text-color); }
    svg .now line { stroke: var(--primary-text-color); stroke-width: 1.5; }
    svg .now text { font-size: 10px; font-weight: bold; fill: var(--primary-text-color); }
  `;
let ct = Q;
customElements.get(B) || customElements.define(B, ct);
window.customCards = window.customCards ?? [];
if (!window.customCards.some((r) => r.type === B)) {
  const r = et(ft(navigator.language));
  window.customCards.push({ type: B, name: r("card_name"), description: r("card_description"), preview: !0 });
}
export {
  B as CARD_TAG,
  ct as HemsPlanCard
};

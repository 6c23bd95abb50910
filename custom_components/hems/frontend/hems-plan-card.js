const F = globalThis, ct = F.ShadowRoot && (F.ShadyCSS === void 0 || F.ShadyCSS.nativeShadow) && "adoptedStyleSheets" in Document.prototype && "replace" in CSSStyleSheet.prototype, ht = /* @__PURE__ */ Symbol(), yt = /* @__PURE__ */ new WeakMap();
let Ot = class {
  constructor(t, e, s) {
    if (this._$cssResult$ = !0, s !== ht) throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");
    this.cssText = t, this.t = e;
  }
  get styleSheet() {
    let t = this.o;
    const e = this.t;
    if (ct && t === void 0) {
      const s = e !== void 0 && e.length === 1;
      s && (t = yt.get(e)), t === void 0 && ((this.o = t = new CSSStyleSheet()).replaceSync(this.cssText), s && yt.set(e, t));
    }
    return t;
  }
  toString() {
    return this.cssText;
  }
};
const Gt = (r) => new Ot(typeof r == "string" ? r : r + "", void 0, ht), qt = (r, ...t) => {
  const e = r.length === 1 ? r[0] : t.reduce((s, n, o) => s + ((i) => {
    if (i._$cssResult$ === !0) return i.cssText;
    if (typeof i == "number") return i;
    throw Error("Value passed to 'css' function must be a 'css' function result: " + i + ". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.");
  })(n) + r[o + 1], r[0]);
  return new Ot(e, r, ht);
}, Kt = (r, t) => {
  if (ct) r.adoptedStyleSheets = t.map((e) => e instanceof CSSStyleSheet ? e : e.styleSheet);
  else for (const e of t) {
    const s = document.createElement("style"), n = F.litNonce;
    n !== void 0 && s.setAttribute("nonce", n), s.textContent = e.cssText, r.appendChild(s);
  }
}, bt = ct ? (r) => r : (r) => r instanceof CSSStyleSheet ? ((t) => {
  let e = "";
  for (const s of t.cssRules) e += s.cssText;
  return Gt(e);
})(r) : r;
const { is: Jt, defineProperty: Xt, getOwnPropertyDescriptor: Qt, getOwnPropertyNames: Yt, getOwnPropertySymbols: te, getPrototypeOf: ee } = Object, Y = globalThis, wt = Y.trustedTypes, se = wt ? wt.emptyScript : "", re = Y.reactiveElementPolyfillSupport, O = (r, t) => r, it = { toAttribute(r, t) {
  switch (t) {
    case Boolean:
      r = r ? se : null;
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
} }, It = (r, t) => !Jt(r, t), xt = { attribute: !0, type: String, converter: it, reflect: !1, useDefault: !1, hasChanged: It };
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
      n !== void 0 && Xt(this.prototype, t, n);
    }
  }
  static getPropertyDescriptor(t, e, s) {
    const { get: n, set: o } = Qt(this.prototype, t) ?? { get() {
      return this[e];
    }, set(i) {
      this[e] = i;
    } };
    return { get: n, set(i) {
      const l = n?.call(this);
      o?.call(this, i), this.requestUpdate(t, l, s);
    }, configurable: !0, enumerable: !0 };
  }
  static getPropertyOptions(t) {
    return this.elementProperties.get(t) ?? xt;
  }
  static _$Ei() {
    if (this.hasOwnProperty(O("elementProperties"))) return;
    const t = ee(this);
    t.finalize(), t.l !== void 0 && (this.l = [...t.l]), this.elementProperties = new Map(t.elementProperties);
  }
  static finalize() {
    if (this.hasOwnProperty(O("finalized"))) return;
    if (this.finalized = !0, this._$Ei(), this.hasOwnProperty(O("properties"))) {
      const e = this.properties, s = [...Yt(e), ...te(e)];
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
      for (const n of s) e.unshift(bt(n));
    } else t !== void 0 && e.push(bt(t));
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
    return Kt(t, this.constructor.elementStyles), t;
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
      const o = (s.converter?.toAttribute !== void 0 ? s.converter : it).toAttribute(e, s.type);
      this._$Em = t, o == null ? this.removeAttribute(n) : this.setAttribute(n, o), this._$Em = null;
    }
  }
  _$AK(t, e) {
    const s = this.constructor, n = s._$Eh.get(t);
    if (n !== void 0 && this._$Em !== n) {
      const o = s.getPropertyOptions(n), i = typeof o.converter == "function" ? { fromAttribute: o.converter } : o.converter?.fromAttribute !== void 0 ? o.converter : it;
      this._$Em = n;
      const l = i.fromAttribute(e, o.type);
      this[n] = l ?? this._$Ej?.get(n) ?? l, this._$Em = null;
    }
  }
  requestUpdate(t, e, s, n = !1, o) {
    if (t !== void 0) {
      const i = this.constructor;
      if (n === !1 && (o = this[t]), s ??= i.getPropertyOptions(t), !((s.hasChanged ?? It)(o, e) || s.useDefault && s.reflect && o === this._$Ej?.get(t) && !this.hasAttribute(i._$Eu(t, s)))) return;
      this.C(t, e, s);
    }
    this.isUpdatePending === !1 && (this._$ES = this._$EP());
  }
  C(t, e, { useDefault: s, reflect: n, wrapped: o }, i) {
    s && !(this._$Ej ??= /* @__PURE__ */ new Map()).has(t) && (this._$Ej.set(t, i ?? e ?? this[t]), o !== !0 || i !== void 0) || (this._$AL.has(t) || (this.hasUpdated || s || (e = void 0), this._$AL.set(t, e)), n === !0 && this._$Em !== t && (this._$Eq ??= /* @__PURE__ */ new Set()).add(t));
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
        for (const [n, o] of this._$Ep) this[n] = o;
        this._$Ep = void 0;
      }
      const s = this.constructor.elementProperties;
      if (s.size > 0) for (const [n, o] of s) {
        const { wrapped: i } = o, l = this[n];
        i !== !0 || this._$AL.has(n) || l === void 0 || this.C(n, void 0, o, l);
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
M.elementStyles = [], M.shadowRootOptions = { mode: "open" }, M[O("elementProperties")] = /* @__PURE__ */ new Map(), M[O("finalized")] = /* @__PURE__ */ new Map(), re?.({ ReactiveElement: M }), (Y.reactiveElementVersions ??= []).push("2.1.2");
const dt = globalThis, kt = (r) => r, X = dt.trustedTypes, At = X ? X.createPolicy("lit-html", { createHTML: (r) => r }) : void 0, Bt = "$lit$", A = `lit$${Math.random().toFixed(9).slice(2)}$`, Wt = "?" + A, ne = `<${Wt}>`, C = document, B = () => C.createComment(""), W = (r) => r === null || typeof r != "object" && typeof r != "function", ut = Array.isArray, oe = (r) => ut(r) || typeof r?.[Symbol.iterator] == "function", nt = `[ 	
\f\r]`, R = /<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g, Et = /-->/g, St = />/g, S = RegExp(`>|${nt}(?:([^\\s"'>=/]+)(${nt}*=${nt}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`, "g"), Pt = /'/g, Ct = /"/g, Dt = /^(?:script|style|textarea|title)$/i, Lt = (r) => (t, ...e) => ({ _$litType$: r, strings: t, values: e }), w = Lt(1), y = Lt(2), T = /* @__PURE__ */ Symbol.for("lit-noChange"), f = /* @__PURE__ */ Symbol.for("lit-nothing"), Mt = /* @__PURE__ */ new WeakMap(), P = C.createTreeWalker(C, 129);
function Vt(r, t) {
  if (!ut(r) || !r.hasOwnProperty("raw")) throw Error("invalid template strings array");
  return At !== void 0 ? At.createHTML(t) : t;
}
const ie = (r, t) => {
  const e = r.length - 1, s = [];
  let n, o = t === 2 ? "<svg>" : t === 3 ? "<math>" : "", i = R;
  for (let l = 0; l < e; l++) {
    const a = r[l];
    let h, c, d = -1, g = 0;
    for (; g < a.length && (i.lastIndex = g, c = i.exec(a), c !== null); ) g = i.lastIndex, i === R ? c[1] === "!--" ? i = Et : c[1] !== void 0 ? i = St : c[2] !== void 0 ? (Dt.test(c[2]) && (n = RegExp("</" + c[2], "g")), i = S) : c[3] !== void 0 && (i = S) : i === S ? c[0] === ">" ? (i = n ?? R, d = -1) : c[1] === void 0 ? d = -2 : (d = i.lastIndex - c[2].length, h = c[1], i = c[3] === void 0 ? S : c[3] === '"' ? Ct : Pt) : i === Ct || i === Pt ? i = S : i === Et || i === St ? i = R : (i = S, n = void 0);
    const _ = i === S && r[l + 1].startsWith("/>") ? " " : "";
    o += i === R ? a + ne : d >= 0 ? (s.push(h), a.slice(0, d) + Bt + a.slice(d) + A + _) : a + A + (d === -2 ? l : _);
  }
  return [Vt(r, o + (r[e] || "<?>") + (t === 2 ? "</svg>" : t === 3 ? "</math>" : "")), s];
};
class D {
  constructor({ strings: t, _$litType$: e }, s) {
    let n;
    this.parts = [];
    let o = 0, i = 0;
    const l = t.length - 1, a = this.parts, [h, c] = ie(t, e);
    if (this.el = D.createElement(h, s), P.currentNode = this.el.content, e === 2 || e === 3) {
      const d = this.el.content.firstChild;
      d.replaceWith(...d.childNodes);
    }
    for (; (n = P.nextNode()) !== null && a.length < l; ) {
      if (n.nodeType === 1) {
        if (n.hasAttributes()) for (const d of n.getAttributeNames()) if (d.endsWith(Bt)) {
          const g = c[i++], _ = n.getAttribute(d).split(A), m = /([.?@])?(.*)/.exec(g);
          a.push({ type: 1, index: o, name: m[2], strings: _, ctor: m[1] === "." ? le : m[1] === "?" ? ce : m[1] === "@" ? he : tt }), n.removeAttribute(d);
        } else d.startsWith(A) && (a.push({ type: 6, index: o }), n.removeAttribute(d));
        if (Dt.test(n.tagName)) {
          const d = n.textContent.split(A), g = d.length - 1;
          if (g > 0) {
            n.textContent = X ? X.emptyScript : "";
            for (let _ = 0; _ < g; _++) n.append(d[_], B()), P.nextNode(), a.push({ type: 2, index: ++o });
            n.append(d[g], B());
          }
        }
      } else if (n.nodeType === 8) if (n.data === Wt) a.push({ type: 2, index: o });
      else {
        let d = -1;
        for (; (d = n.data.indexOf(A, d + 1)) !== -1; ) a.push({ type: 7, index: o }), d += A.length - 1;
      }
      o++;
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
  const o = W(t) ? void 0 : t._$litDirective$;
  return n?.constructor !== o && (n?._$AO?.(!1), o === void 0 ? n = void 0 : (n = new o(r), n._$AT(r, e, s)), s !== void 0 ? (e._$Co ??= [])[s] = n : e._$Cl = n), n !== void 0 && (t = z(r, n._$AS(r, t.values), n, s)), t;
}
class ae {
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
    let o = P.nextNode(), i = 0, l = 0, a = s[0];
    for (; a !== void 0; ) {
      if (i === a.index) {
        let h;
        a.type === 2 ? h = new V(o, o.nextSibling, this, t) : a.type === 1 ? h = new a.ctor(o, a.name, a.strings, this, t) : a.type === 6 && (h = new de(o, this, t)), this._$AV.push(h), a = s[++l];
      }
      i !== a?.index && (o = P.nextNode(), i++);
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
    this.type = 2, this._$AH = f, this._$AN = void 0, this._$AA = t, this._$AB = e, this._$AM = s, this.options = n, this._$Cv = n?.isConnected ?? !0;
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
    t = z(this, t, e), W(t) ? t === f || t == null || t === "" ? (this._$AH !== f && this._$AR(), this._$AH = f) : t !== this._$AH && t !== T && this._(t) : t._$litType$ !== void 0 ? this.$(t) : t.nodeType !== void 0 ? this.T(t) : oe(t) ? this.k(t) : this._(t);
  }
  O(t) {
    return this._$AA.parentNode.insertBefore(t, this._$AB);
  }
  T(t) {
    this._$AH !== t && (this._$AR(), this._$AH = this.O(t));
  }
  _(t) {
    this._$AH !== f && W(this._$AH) ? this._$AA.nextSibling.data = t : this.T(C.createTextNode(t)), this._$AH = t;
  }
  $(t) {
    const { values: e, _$litType$: s } = t, n = typeof s == "number" ? this._$AC(t) : (s.el === void 0 && (s.el = D.createElement(Vt(s.h, s.h[0]), this.options)), s);
    if (this._$AH?._$AD === n) this._$AH.p(e);
    else {
      const o = new ae(n, this), i = o.u(this.options);
      o.p(e), this.T(i), this._$AH = o;
    }
  }
  _$AC(t) {
    let e = Mt.get(t.strings);
    return e === void 0 && Mt.set(t.strings, e = new D(t)), e;
  }
  k(t) {
    ut(this._$AH) || (this._$AH = [], this._$AR());
    const e = this._$AH;
    let s, n = 0;
    for (const o of t) n === e.length ? e.push(s = new V(this.O(B()), this.O(B()), this, this.options)) : s = e[n], s._$AI(o), n++;
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
  constructor(t, e, s, n, o) {
    this.type = 1, this._$AH = f, this._$AN = void 0, this.element = t, this.name = e, this._$AM = n, this.options = o, s.length > 2 || s[0] !== "" || s[1] !== "" ? (this._$AH = Array(s.length - 1).fill(new String()), this.strings = s) : this._$AH = f;
  }
  _$AI(t, e = this, s, n) {
    const o = this.strings;
    let i = !1;
    if (o === void 0) t = z(this, t, e, 0), i = !W(t) || t !== this._$AH && t !== T, i && (this._$AH = t);
    else {
      const l = t;
      let a, h;
      for (t = o[0], a = 0; a < o.length - 1; a++) h = z(this, l[s + a], e, a), h === T && (h = this._$AH[a]), i ||= !W(h) || h !== this._$AH[a], h === f ? t = f : t !== f && (t += (h ?? "") + o[a + 1]), this._$AH[a] = h;
    }
    i && !n && this.j(t);
  }
  j(t) {
    t === f ? this.element.removeAttribute(this.name) : this.element.setAttribute(this.name, t ?? "");
  }
}
class le extends tt {
  constructor() {
    super(...arguments), this.type = 3;
  }
  j(t) {
    this.element[this.name] = t === f ? void 0 : t;
  }
}
class ce extends tt {
  constructor() {
    super(...arguments), this.type = 4;
  }
  j(t) {
    this.element.toggleAttribute(this.name, !!t && t !== f);
  }
}
class he extends tt {
  constructor(t, e, s, n, o) {
    super(t, e, s, n, o), this.type = 5;
  }
  _$AI(t, e = this) {
    if ((t = z(this, t, e, 0) ?? f) === T) return;
    const s = this._$AH, n = t === f && s !== f || t.capture !== s.capture || t.once !== s.once || t.passive !== s.passive, o = t !== f && (s === f || n);
    n && this.element.removeEventListener(this.name, this, s), o && this.element.addEventListener(this.name, this, t), this._$AH = t;
  }
  handleEvent(t) {
    typeof this._$AH == "function" ? this._$AH.call(this.options?.host ?? this.element, t) : this._$AH.handleEvent(t);
  }
}
class de {
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
const ue = dt.litHtmlPolyfillSupport;
ue?.(D, V), (dt.litHtmlVersions ??= []).push("3.3.3");
const pe = (r, t, e) => {
  const s = e?.renderBefore ?? t;
  let n = s._$litPart$;
  if (n === void 0) {
    const o = e?.renderBefore ?? null;
    s._$litPart$ = n = new V(t.insertBefore(B(), o), o, void 0, e ?? {});
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
    this.hasUpdated || (this.renderOptions.isConnected = this.isConnected), super.update(t), this._$Do = pe(e, this.renderRoot, this.renderOptions);
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
const ge = pt.litElementPolyfillSupport;
ge?.({ LitElement: H });
(pt.litElementVersions ??= []).push("4.2.2");
const fe = 5e-3, _e = 1;
function Ht(r, t) {
  const e = new Intl.DateTimeFormat("en-US", { timeZone: t, year: "numeric", month: "numeric" }).formatToParts(
    new Date(r)
  ), s = Number(e.find((o) => o.type === "year")?.value), n = Number(e.find((o) => o.type === "month")?.value);
  return s * 12 + n;
}
function me(r) {
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
function $e(r, t, e) {
  let s = null;
  for (let n = 0; n < r.length && r[n].t1 <= e; n++)
    s = t[n];
  return s;
}
function ve(r, t, e) {
  const s = r?.plan;
  if (!s || s.step_start.length === 0) return null;
  const n = Math.min(48, Math.max(1, e.hours ?? 48)), o = me(s), i = e.now - _e * 36e5, l = e.now + n * 36e5, a = [];
  if (o.forEach((p, $) => {
    p.t1 > i && p.t0 < l && a.push($);
  }), a.length === 0) return null;
  const h = (p) => a.map(($) => p[$]), c = h(o), d = Ht(o[0].t0, e.timeZone), g = s.month_peak_kw ?? [], _ = c.map((p) => {
    if (g.length === 0) return null;
    const $ = Math.min(g.length - 1, Math.max(0, Ht(p.t0, e.timeZone) - d));
    return g[$];
  }), m = s.assets.map((p) => {
    const $ = t?.storages.find((v) => v.name === p.name), Ft = a.map((v) => p.available[v] === !1 ? null : p.power_kw[v]), st = [];
    let k = [];
    const U = a[0];
    U > 0 && p.available[U - 1] !== !1 ? k.push({ t: o[U].t0, soc: p.soc[U - 1] }) : U === 0 && $?.soc != null && p.available[0] !== !1 && k.push({ t: o[0].t0, soc: $.soc });
    for (const v of a) {
      if (p.available[v] === !1) {
        k.length && st.push(k), k = [];
        continue;
      }
      k.push({ t: o[v].t1, soc: p.soc[v] });
    }
    k.length && st.push(k);
    const Zt = ($?.departures ?? []).map((v) => {
      const vt = Date.parse(v.at), rt = $e(o, p.soc, vt);
      return { t: vt, target: v.target_soc, planned: rt, reached: rt !== null && rt >= v.target_soc - fe };
    }).filter((v) => v.t >= c[0].t0 && v.t <= c[c.length - 1].t1);
    return {
      name: p.name,
      kind: p.kind,
      power: Ft,
      soc: st,
      minSoc: $ ? $.min_soc : null,
      maxSoc: $ ? $.max_soc : null,
      liveSoc: $?.soc ?? null,
      boost: $?.boost ?? !1,
      targets: Zt
    };
  }), b = Nt(o, e.now);
  return {
    steps: c,
    t0: c[0].t0,
    t1: c[c.length - 1].t1,
    now: e.now,
    nowIndex: Nt(c, e.now),
    importPrice: h(s.import_price),
    exportPrice: h(s.export_price),
    pv: h(s.pv_kw),
    load: h(s.load_kw),
    grid: a.map((p) => s.grid_import_kw[p] - s.grid_export_kw[p]),
    peakBudget: _,
    assets: m,
    reason: b >= 0 ? s.reasons[b] : null,
    seq: r?.seq ?? null,
    source: r?.source ?? null
  };
}
function Z(r, t = []) {
  let e = 0, s = 0;
  for (const o of [...r, ...t])
    o == null || !Number.isFinite(o) || (e = Math.min(e, o), s = Math.max(s, o));
  s - e < 1e-9 && (s = e + 1);
  const n = (s - e) * 0.08;
  return [e < 0 ? e - n : e, s > 0 ? s + n : s];
}
function ye(r, t) {
  const e = t?.entities ?? {}, s = e["sensor.status"], n = s ? r[s]?.state : void 0;
  if (n && n !== "unknown" && n !== "unavailable") return n;
  const o = e["binary_sensor.fail_safe"];
  if (o && r[o]?.state === "on") return "fail_safe";
  for (const [i, l] of Object.entries(e))
    if (i.endsWith("_boost_active") && r[l]?.state === "on") return "boost";
  return "unknown";
}
function Tt(r, t, e) {
  const s = t?.entities[`binary_sensor.${e}_boost_active`];
  return s && r[s] ? r[s].state === "on" : t?.storages.find((n) => n.name === e)?.boost ?? !1;
}
const be = ["en", "nl", "de", "sv"], gt = {
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
  "reason.boost": "Boost: charging {name} at full power; the plan resumes after it",
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
}, we = {
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
  "reason.boost": "Boost: {name} laadt op vol vermogen; daarna gaat het plan verder",
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
  "reason.boost": "Boost: {name} lädt mit voller Leistung; danach geht der Plan weiter",
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
  "reason.boost": "Boost: {name} laddar med full effekt; sedan fortsätter planen",
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
}, Ae = { en: gt, nl: we, de: xe, sv: ke };
function ft(r) {
  const t = (r ?? "en").toLowerCase().split(/[-_]/)[0];
  return be.includes(t) ? t : "en";
}
function et(r) {
  const t = Ae[r];
  return (e, s) => {
    const n = t[e] ?? gt[e] ?? e;
    return s ? n.replace(/\{(\w+)\}/g, (o, i) => s[i] ?? o) : n;
  };
}
function _t(r, t, e) {
  return new Intl.NumberFormat(r, {
    minimumFractionDigits: e,
    maximumFractionDigits: e
  }).format(t);
}
function ot(r, t) {
  return `${_t(r, t, 3)} €/kWh`;
}
function Ee(r, t) {
  return `${_t(r, t, Math.abs(t) < 10 ? 1 : 0)} kW`;
}
function zt(r, t) {
  return `${_t(r, t * 100, 0)} %`;
}
const Se = /^charge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/, Pe = /^discharge (.+) \(([^,]+), (-?[\d.]+) EUR\/kWh\)$/, Ce = /^curtail PV \(export (-?[\d.]+) EUR\/kWh\)$/, Me = /^load above the grid limit: shed (-?[\d.]+) kW$/;
function He(r, t, e) {
  const s = et(t), n = (l) => e?.[l] ?? l, o = (l) => {
    const a = `why.${l}`;
    return a in gt ? s(a) : l;
  };
  return r.split("; ").map((l) => {
    let a;
    return l === "hold" ? s("reason.hold") : l === "import held at the month peak" ? s("reason.peak") : (a = l.match(Se)) ? s("reason.charge", { name: n(a[1]), why: o(a[2]), price: ot(t, Number(a[3])) }) : (a = l.match(Pe)) ? s("reason.discharge", { name: n(a[1]), why: o(a[2]), price: ot(t, Number(a[3])) }) : (a = l.match(Ce)) ? s("reason.curtail", { price: ot(t, Number(a[1])) }) : (a = l.match(Me)) ? s("reason.shed", { kw: Ee(t, Number(a[1])) }) : l;
  }).join("; ");
}
const N = 38, Ut = 34, E = 16, Ne = 20, G = 64, q = 64, K = 72, mt = 104, x = 8, u = (r) => r.toFixed(1);
function I(r, t, e, s) {
  return (n) => e + s - (n - r) / (t - r) * s;
}
function Rt(r, t, e) {
  return new Intl.NumberFormat(r, { maximumFractionDigits: e, minimumFractionDigits: e }).format(t);
}
function j(r, t, e, s) {
  let n = "", o = !1;
  return r.steps.forEach((i, l) => {
    const a = s[l];
    if (a == null) {
      o = !1;
      return;
    }
    const h = t.x(i.t0), c = t.x(i.t1);
    n += `${o ? "L" : "M"}${u(h)},${u(e(a))}L${u(c)},${u(e(a))}`, o = !0;
  }), n;
}
function Te(r, t, e, s) {
  if (r.steps.length === 0) return "";
  let n = `M${u(t.x(r.steps[0].t0))},${u(e(0))}`;
  return r.steps.forEach((o, i) => {
    n += `L${u(t.x(o.t0))},${u(e(s[i]))}L${u(t.x(o.t1))},${u(e(s[i]))}`;
  }), n + `L${u(t.x(r.steps[r.steps.length - 1].t1))},${u(e(0))}Z`;
}
function jt(r, t, e, s, n, o) {
  const i = [], l = e(0);
  return r.steps.forEach((a, h) => {
    const c = s[h];
    if (c == null || Math.abs(c) < 0.01) return;
    const d = t.x(a.t0), g = Math.max(0.6, t.x(a.t1) - d - 0.4), _ = e(c);
    i.push(
      y`<rect class=${c > 0 ? n : o} x=${u(d)} y=${u(Math.min(l, _))} width=${u(g)} height=${u(Math.abs(_ - l))}></rect>`
    );
  }), i;
}
function J(r, t, e, s, n, o, i, l, a) {
  return y`
    <text class="ptitle" x=${N} y=${r - 4}>${s}</text>
    <rect class="pframe" x=${e.x0} y=${r} width=${e.x1 - e.x0} height=${t}></rect>
    ${n < 0 && o > 0 ? y`<line class="zero" x1=${e.x0} x2=${e.x1} y1=${u(i(0))} y2=${u(i(0))}></line>` : null}
    <text class="tick" x=${N - 4} y=${r + 9} text-anchor="end">${Rt(l, o, a)}</text>
    <text class="tick" x=${N - 4} y=${r + t} text-anchor="end">${Rt(l, n, a)}</text>`;
}
function ze(r, t, e, s, n) {
  const o = mt, [i, l] = Z(r.power), a = I(i, l, s, o), h = I(0, 1, s, o), c = n.names[r.name] ?? r.name, d = r.soc.map(
    (m) => y`<polyline class="soc" points=${m.map((b) => `${u(e.x(b.t))},${u(h(b.soc))}`).join(" ")}></polyline>`
  ), g = r.targets.map((m) => {
    const b = e.x(m.t), p = h(m.target);
    return y`
      <g class=${m.reached ? "target ok" : "target short"} data-target=${m.target} data-planned=${m.planned ?? ""}>
        <line class="dep" x1=${u(b)} x2=${u(b)} y1=${s} y2=${s + o}></line>
        <path class="mark" d=${`M${u(b)},${u(p - 5)}l5,5l-5,5l-5,-5z`}></path>
        <text class="tlabel" x=${u(b - 7)} y=${u(Math.max(s + 10, p - 6))} text-anchor="end">${n.t("target")} ${zt(n.lang, m.target)}</text>
      </g>`;
  }), _ = r.minSoc != null ? y`<line class="minsoc" x1=${e.x0} x2=${e.x1} y1=${u(h(r.minSoc))} y2=${u(h(r.minSoc))}></line>
          <text class="tlabel minl" x=${e.x1 - 3} y=${u(h(r.minSoc) - 3)} text-anchor="end">${n.t("min_soc")} ${zt(n.lang, r.minSoc)}</text>` : null;
  return y`
    <g class="asset" data-asset=${r.name}>
      ${J(s, o, e, `${c} · ${n.t("power")} (${n.t("charge_discharge")}) · ${n.t("soc")}`, i, l, a, n.lang, 1)}
      ${jt(t, e, a, r.power, "charge", "discharge")}
      ${_}
      ${d}
      ${g}
      <text class="tick" x=${e.x1 + 3} y=${s + 9}>100%</text>
      <text class="tick" x=${e.x1 + 3} y=${s + o / 2 + 4}>50%</text>
      <text class="tick" x=${e.x1 + 3} y=${s + o}>0%</text>
    </g>`;
}
function Ue(r, t, e, s, n) {
  const o = n.width < 520 ? 6 : 3, i = new Intl.DateTimeFormat(n.lang, { hour: "2-digit", minute: "2-digit", hour12: !1, timeZone: n.timeZone }), l = new Intl.DateTimeFormat("en-GB", { hour: "numeric", hour12: !1, timeZone: n.timeZone }), a = [], h = Math.ceil(r.t0 / 36e5) * 36e5;
  for (let c = h; c <= r.t1; c += 36e5) {
    if (Number(l.format(new Date(c))) % 24 % o !== 0) continue;
    const g = t.x(c);
    a.push(y`<line class="grid" x1=${u(g)} x2=${u(g)} y1=${e} y2=${s}></line>
      <text class="tick" x=${u(g)} y=${s + 13} text-anchor="middle">${i.format(new Date(c))}</text>`);
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
    x1: e - Ut,
    x: (h) => N + (h - r.t0) / (r.t1 - r.t0) * (e - Ut - N)
  }, n = Re(r, t), o = [];
  let i = 8;
  if (t.showPrices) {
    i += E;
    const [h, c] = Z(r.importPrice, r.exportPrice), d = I(h, c, i, G);
    o.push(y`<g class="panel prices">
      ${J(i, G, s, `${t.t("prices")}: ${t.t("import_price")} / ${t.t("export_price")}`, h, c, d, t.lang, 2)}
      <path class="imp line" d=${j(r, s, d, r.importPrice)}></path>
      <path class="exp line" d=${j(r, s, d, r.exportPrice)}></path></g>`), i += G + x;
  }
  if (t.showForecast) {
    i += E;
    const [h, c] = Z(r.pv, r.load), d = I(h, c, i, q);
    o.push(y`<g class="panel forecast">
      ${J(i, q, s, `${t.t("forecast")}: ${t.t("pv")} / ${t.t("load")}`, h, c, d, t.lang, 1)}
      <path class="pv" d=${Te(r, s, d, r.pv)}></path>
      <path class="load line" d=${j(r, s, d, r.load)}></path></g>`), i += q + x;
  }
  if (t.showGrid) {
    i += E;
    const [h, c] = Z(r.grid, r.peakBudget), d = I(h, c, i, K);
    o.push(y`<g class="panel grid-panel">
      ${J(i, K, s, r.peakBudget.some((g) => g != null) ? `${t.t("grid")} · ${t.t("peak_budget")} - -` : t.t("grid"), h, c, d, t.lang, 1)}
      ${jt(r, s, d, r.grid, "import", "export")}
      <path class="budget" d=${j(r, s, d, r.peakBudget)}></path></g>`), i += K + x;
  }
  for (const h of r.assets)
    i += E, o.push(ze(h, r, s, i, t)), i += mt + x;
  const l = i - x, a = r.now >= r.t0 && r.now <= r.t1 ? s.x(r.now) : null;
  return y`<svg class="chart" width=${e} height=${n} viewBox=${`0 0 ${e} ${n}`} role="img">
    ${Ue(r, s, 8, l, t)}
    ${o}
    ${a == null ? null : y`<g class="now"><line x1=${u(a)} x2=${u(a)} y1=${8} y2=${l}></line>
          <text x=${u(a + 3)} y=${l - 3}>${t.t("now")}</text></g>`}
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
    return w`<ha-form
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
const L = "hems-plan-card", Be = 6e4, Q = class Q extends H {
  constructor() {
    super(...arguments), this._width = 400, this._busy = !1, this._watch = "", this._loading = !1;
  }
  static getConfigElement() {
    return document.createElement("hems-plan-card-editor");
  }
  static getStubConfig() {
    return { type: `custom:${L}`, hours: 24 };
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
    }, Be), this._resize = new ResizeObserver((t) => {
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
    const s = this._info?.entities ?? {}, o = Object.entries(s).filter(([i]) => i === "sensor.status" || i.endsWith("_boost_active") || i === "binary_sensor.fail_safe").map(([, i]) => i).map((i) => `${i}=${this.hass.states[i]?.state}`).join("|");
    if (o !== this._watch) {
      const i = this._watch !== "";
      this._watch = o, i && this._load();
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
    return ve(this._plan ?? null, this._info ?? null, {
      now: Date.now(),
      hours: this._config?.hours,
      timeZone: this.hass?.config?.time_zone
    });
  }
  _status() {
    const t = ye(this.hass?.states ?? {}, this._info ?? null), e = `status.${t}`;
    return w`<span class="status ${t === "fail_safe" || t === "island" ? "bad" : t === "boost" ? "boost" : ""}" data-status=${t}>${this._t(e) === e ? t : this._t(e)}</span>`;
  }
  _cars(t) {
    const e = this._t;
    return (this._plan?.plan?.assets ?? this._info?.storages ?? []).filter((n) => n.kind === "ev").map((n) => {
      const o = Tt(this.hass?.states ?? {}, this._info ?? null, n.name), i = t?.assets.find((d) => d.name === n.name), l = this.hass?.config?.time_zone, a = i?.targets[0], h = a ? new Intl.DateTimeFormat(this._lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hour12: !1, timeZone: l }).format(new Date(a.t)) : "", c = (d) => d == null ? "–" : `${Math.round(d * 100)} %`;
      return w`<div class="car" data-car=${n.name}>
        <div class="carline">
          <b>${n.name}</b>
          <span class="soc-now">${this._t("soc")} ${c(i?.liveSoc)}</span>
          ${a ? w`<span class="dep-text ${a.reached ? "ok" : "short"}"
                >${e("departure", { time: h, target: c(a.target), planned: c(a.planned) })}
                ${a.reached ? "✓ " + e("departure_ok") : "✗ " + e("departure_short")}</span
              >` : f}
        </div>
        <button
          class="boost ${o ? "active" : ""}"
          ?disabled=${this._busy}
          @click=${() => {
        this._boost(n.name, !o);
      }}
          data-action=${o ? "cancel_boost" : "start_boost"}
        >
          ${e(o ? "cancel_boost" : "boost")}
        </button>
      </div>`;
    });
  }
  render() {
    const t = this._t, e = this._config ?? {}, s = this._model(), n = (this._plan?.plan?.assets ?? []).filter(
      (l) => l.kind === "ev" && Tt(this.hass?.states ?? {}, this._info ?? null, l.name)
    ), o = n.length ? t("reason.boost", { name: n.map((l) => l.name).join(", ") }) : s?.reason ? He(s.reason, this._lang, this._names()) : null;
    let i;
    return s ? i = w`<div class="chartbox">
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
      </div>` : this._plan === void 0 && !this._error ? i = w`<div class="msg">${t("loading")}</div>` : i = w`<div class="msg">${this._plan ? t("no_plan") : f}</div>`, w`<ha-card>
      <div class="head">
        <span class="title">${e.title ?? this._info?.title ?? t("title")}</span>
        ${this._status()}
      </div>
      ${o ? w`<div class="reason"><b>${t("reason_now")}:</b> <span class="reason-text">${o}</span></div>` : f}
      ${this._cars(s)}
      ${this._error ? w`<div class="error">${this._error}</div>` : f}
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
}, Q.styles = qt`
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
let lt = Q;
customElements.get(L) || customElements.define(L, lt);
window.customCards = window.customCards ?? [];
if (!window.customCards.some((r) => r.type === L)) {
  const r = et(ft(navigator.language));
  window.customCards.push({ type: L, name: r("card_name"), description: r("card_description"), preview: !0 });
}
export {
  L as CARD_TAG,
  lt as HemsPlanCard
};

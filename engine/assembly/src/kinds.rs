//! What the PDF says about each kind of mark, in one table: the label on
//! the redaction box, the reading guide's explanation and legal basis, and
//! the short reason in the document index. One place, so a new kind cannot
//! get a box without an explanation.

use marc_model::MarkKind;

/// The Danish texts for one kind of mark.
pub(crate) struct KindText {
    /// Box labels, longest first; the longest that fits is drawn.
    pub(crate) labels: &'static [&'static str],
    /// What was removed (the reading guide's sentence).
    pub(crate) what: &'static str,
    /// The legal basis (the reading guide's "Retsgrundlag").
    pub(crate) law: &'static str,
    /// The reason in the document index, with a short legal reference.
    pub(crate) index: &'static str,
}

/// Private matters of another person: the basis for names, addresses and
/// contact details (GDPR access requests: the rights of others, art. 15(4)).
const PRIVATE: &str = "forvaltningsloven § 15 b, nr. 1, og offentlighedsloven § 30, nr. 1 \
     (ved indsigt efter databeskyttelsesforordningen: artikel 15, stk. 4)";

/// The texts for `kind`.
pub(crate) fn text(kind: MarkKind) -> &'static KindText {
    match kind {
        MarkKind::Name => &KindText {
            labels: &[
                "Undtaget – oplysninger om andre personer",
                "Undtaget – andre personer",
                "Undtaget",
            ],
            what: "Navne på andre personer end dig, også med titel (fx »hr.« eller »fru«), og \
                   brugernavne, der kan føre til dem",
            law: PRIVATE,
            index: "Oplysninger om andre personer (fvl. § 15 b, offl. § 30, nr. 1)",
        },
        MarkKind::Address => &KindText {
            labels: &[
                "Undtaget – andre personers adresse",
                "Undtaget – adresse",
                "Undtaget",
            ],
            what: "Private adresser, der tilhører andre personer end dig. Adresser på kommuner, \
                   institutioner og virksomheder er ikke undtaget",
            law: PRIVATE,
            index: "Oplysninger om andre personer (fvl. § 15 b, offl. § 30, nr. 1)",
        },
        MarkKind::Cpr => &KindText {
            labels: &[
                "Undtaget – andre personers CPR-nummer",
                "Undtaget – CPR-nummer",
                "Undtaget",
            ],
            what: "Andre personers CPR-numre, også når de er skrevet med bogstaver, delt over to \
                   linjer eller læst med fejl ved tekstgenkendelse",
            law: "offentlighedsloven § 28, stk. 1, og forvaltningsloven § 15 b, nr. 1",
            index: "CPR-numre (offl. § 28)",
        },
        MarkKind::Phone => &KindText {
            labels: &[
                "Undtaget – andre personers telefonnummer",
                "Undtaget – telefonnummer",
                "Undtaget",
            ],
            what: "Telefonnumre, der tilhører andre personer end dig. Numre til kommunen, \
                   institutioner og virksomheder er ikke undtaget",
            law: PRIVATE,
            index: "Andre personers telefonnumre (fvl. § 15 b, offl. § 30, nr. 1)",
        },
        MarkKind::Email => &KindText {
            labels: &[
                "Undtaget – andre personers e-mailadresse",
                "Undtaget – e-mailadresse",
                "Undtaget",
            ],
            what: "E-mailadresser, der tilhører andre personer end dig, også når adressen er \
                   dannet af personens navn",
            law: PRIVATE,
            index: "Andre personers e-mailadresser (fvl. § 15 b, offl. § 30, nr. 1)",
        },
        MarkKind::Account => &KindText {
            labels: &[
                "Undtaget – andre personers kontonummer",
                "Undtaget – kontonummer",
                "Undtaget",
            ],
            what: "Andre personers bankkontonumre (registrerings- og kontonummer) og \
                   IBAN-numre, som er oplysninger om deres økonomiske forhold",
            law: "forvaltningsloven § 15 b, nr. 1, og offentlighedsloven § 30, nr. 1 (private, \
                  herunder økonomiske, forhold; ved indsigt efter databeskyttelsesforordningen: \
                  artikel 15, stk. 4)",
            index: "Andre personers kontonumre (fvl. § 15 b, offl. § 30, nr. 1)",
        },
        MarkKind::Word => &KindText {
            labels: &["Undtaget – følsomme oplysninger", "Undtaget"],
            what: "Følsomme oplysninger, der efter kommunens vurdering skal undtages af hensyn \
                   til dig selv eller andre private",
            law: "forvaltningsloven § 15 b, nr. 1, og offentlighedsloven § 30, nr. 1",
            index: "Følsomme oplysninger (fvl. § 15 b)",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_label_and_explanation() {
        let mut labels = std::collections::HashSet::new();
        for k in MarkKind::ALL {
            let t = text(k);
            assert!(!t.what.is_empty() && t.law.contains('§') && t.index.contains('§'));
            assert!(t.labels.last() == Some(&"Undtaget"));
            assert!(t.labels.windows(2).all(|w| w[0].len() > w[1].len()));
            assert!(labels.insert(t.labels[0]), "{k:?} shares its label");
        }
    }
}

//! The pricebook: categories, and the services, materials and equipment invoices are made of.

use serde_json::{Value, json};

use crate::fake::{dollars, round2};
use crate::state::{DAY_US, Doc, Gen};
use crate::world::{Sku, SkuKind, World};

/// Categories: name, type, and the index of the parent in this list.
const CATEGORIES: &[(&str, &str, Option<usize>)] = &[
    ("Heating & Cooling", "Services", None),
    ("Plumbing", "Services", None),
    ("Electrical", "Services", None),
    ("AC & Furnace Repair", "Services", Some(0)),
    ("Maintenance", "Services", Some(0)),
    ("Drains & Water Heaters", "Services", Some(1)),
    ("HVAC Parts", "Materials", None),
    ("Plumbing Parts", "Materials", None),
    ("Electrical Parts", "Materials", None),
    ("Equipment", "Materials", None),
];

/// Services: name, price in dollars, hours, category index.
const SERVICES: &[(&str, i64, f64, usize)] = &[
    ("Diagnostic Fee", 89, 0.5, 3),
    ("AC Tune-Up", 129, 1.0, 4),
    ("Furnace Tune-Up", 129, 1.0, 4),
    ("Replace Capacitor", 245, 0.5, 3),
    ("Replace Contactor", 225, 0.5, 3),
    ("Refrigerant Recharge", 95, 0.5, 3),
    ("Replace Blower Motor", 685, 2.0, 3),
    ("Clean Condenser Coil", 175, 1.0, 4),
    ("Heat Pump System Installation", 1450, 8.0, 0),
    ("Duct Cleaning", 399, 3.0, 4),
    ("Thermostat Installation", 185, 1.0, 0),
    ("Replace Igniter", 265, 1.0, 3),
    ("Drain Cleaning", 189, 1.0, 5),
    ("Main Line Hydro Jetting", 495, 2.0, 5),
    ("Water Heater Installation", 650, 4.0, 5),
    ("Water Heater Flush", 149, 1.0, 5),
    ("Toilet Repair", 165, 1.0, 1),
    ("Faucet Replacement", 225, 1.5, 1),
    ("Leak Detection", 295, 1.5, 1),
    ("Garbage Disposal Installation", 285, 1.5, 1),
    ("Outlet Replacement", 125, 0.5, 2),
    ("Breaker Replacement", 215, 1.0, 2),
    ("Panel Upgrade 200A", 2400, 8.0, 2),
    ("Ceiling Fan Installation", 195, 1.5, 2),
    ("Whole-House Surge Protector", 385, 1.0, 2),
    ("Light Fixture Installation", 165, 1.0, 2),
    ("Electrical Safety Inspection", 149, 1.0, 2),
];

/// Materials: name, cost and price in dollars, category index.
const MATERIALS: &[(&str, i64, i64, usize)] = &[
    ("Capacitor 45/5 MFD", 14, 45, 6),
    ("Contactor 30A 2-Pole", 12, 38, 6),
    ("R-410A Refrigerant (lb)", 18, 65, 6),
    ("Air Filter 16x25x1", 6, 25, 6),
    ("Blower Motor 1/2 HP", 120, 310, 6),
    ("Hot Surface Igniter", 22, 75, 6),
    ("Programmable Thermostat", 65, 165, 6),
    ("Condensate Pump", 45, 135, 6),
    ("Line Set 3/8 x 3/4 (25 ft)", 110, 275, 6),
    ("Disconnect Box 60A", 22, 75, 6),
    ("PVC Pipe 2 in (10 ft)", 9, 28, 7),
    ("Copper Pipe 3/4 in (10 ft)", 38, 95, 7),
    ("Wax Ring", 3, 15, 7),
    ("Toilet Fill Valve", 9, 35, 7),
    ("Toilet Flapper", 4, 18, 7),
    ("Shut-off Valve 1/2 in", 7, 28, 7),
    ("Supply Line 20 in", 6, 22, 7),
    ("Anode Rod", 25, 85, 7),
    ("Thermocouple", 12, 45, 7),
    ("P-Trap 1-1/2 in", 5, 24, 7),
    ("Breaker 20A Single Pole", 9, 42, 8),
    ("Breaker 30A Double Pole", 18, 68, 8),
    ("GFCI Outlet 15A", 14, 48, 8),
    ("NM Wire 12/2 (25 ft)", 21, 55, 8),
    ("Junction Box", 3, 14, 8),
    ("Smoke Detector", 18, 55, 8),
    ("Surge Protective Device", 95, 245, 8),
];

/// Equipment: name, manufacturer, model, cost and price in dollars, warranty in months, trade.
type EquipmentRow = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    usize,
);
const EQUIPMENT: &[EquipmentRow] = &[
    (
        "3 Ton 16 SEER2 Heat Pump",
        "Trane",
        "4TWR6036",
        3200,
        7900,
        120,
        0,
    ),
    (
        "4 Ton 16 SEER2 Heat Pump",
        "Trane",
        "4TWR6048",
        3900,
        8900,
        120,
        0,
    ),
    (
        "3 Ton 15 SEER2 Air Conditioner",
        "Carrier",
        "24SCA536",
        2600,
        6400,
        120,
        0,
    ),
    (
        "80K BTU 96% Gas Furnace",
        "Carrier",
        "59SC5B080",
        1500,
        4200,
        120,
        0,
    ),
    (
        "100K BTU 80% Gas Furnace",
        "Goodman",
        "GR9S801005",
        1100,
        3300,
        120,
        0,
    ),
    (
        "3 Ton Air Handler",
        "Goodman",
        "AMST36CU",
        1300,
        3500,
        120,
        0,
    ),
    (
        "Smart Thermostat",
        "ecobee",
        "EB-STATE6-01",
        150,
        395,
        36,
        0,
    ),
    (
        "50 Gal Gas Water Heater",
        "Rheem",
        "XG50T06EC",
        750,
        1950,
        72,
        1,
    ),
    (
        "40 Gal Gas Water Heater",
        "Rheem",
        "XG40T06EC",
        650,
        1750,
        72,
        1,
    ),
    (
        "50 Gal Electric Water Heater",
        "A. O. Smith",
        "E6-50H45DV",
        600,
        1650,
        72,
        1,
    ),
    (
        "Tankless Water Heater 199K BTU",
        "Rinnai",
        "RU199iN",
        1400,
        4200,
        144,
        1,
    ),
    (
        "Water Softener 48K Grain",
        "Culligan",
        "HE-48",
        700,
        2200,
        60,
        1,
    ),
    (
        "200A Main Breaker Panel",
        "Square D",
        "HOM4080M200",
        350,
        1100,
        120,
        2,
    ),
    (
        "Home Standby Generator 22kW",
        "Generac",
        "7043",
        4800,
        11500,
        120,
        2,
    ),
];

pub fn generate(g: &mut Gen, w: &mut World) {
    let category_ids = categories(g);
    let created_range = (g.start_us - 20 * DAY_US, g.start_us + 200 * DAY_US);
    let bu = |trade: usize| w.business_units[[0, 2, 4][trade.min(2)]].id;

    let mut skus = Vec::new();
    for (i, (name, price, hours, cat)) in SERVICES.iter().enumerate() {
        let id = g.id();
        let trade = [0, 1, 2, 0, 0, 1][*cat];
        let created = g.time_between(created_range.0, created_range.1);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("pricebook/services", id, stamp, active);
        let sku = Sku {
            id,
            kind: SkuKind::Service,
            trade,
            code: format!("{}-{}", ["HV", "PL", "EL"][trade], 100 + i),
            name: name.to_string(),
            price_cents: price * 100,
            // Labour cost: what the technician's time costs the company.
            cost_cents: price * 30,
            taxable: false,
            hours: *hours,
        };
        common(&mut d, &sku);
        d.set("isLabor", true);
        d.set("calculatedPrice", dollars(sku.price_cents));
        d.set("account", "Service Income");
        d.set("businessUnitId", bu(trade));
        let (cat_id, cat_name) = &category_ids[*cat];
        d.set(
            "categories",
            json!([{ "id": cat_id, "name": cat_name, "active": true }]),
        );
        g.emit(d);
        skus.push(sku);
    }

    for (i, (name, cost, price, cat)) in MATERIALS.iter().enumerate() {
        let id = g.id();
        let created = g.time_between(created_range.0, created_range.1);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("pricebook/materials", id, stamp, active);
        let sku = Sku {
            id,
            kind: SkuKind::Material,
            trade: cat - 6,
            code: format!("MAT-{}", 1000 + i),
            name: name.to_string(),
            price_cents: price * 100,
            cost_cents: cost * 100,
            taxable: true,
            hours: 0.0,
        };
        common(&mut d, &sku);
        d.set("categories", json!([category_ids[*cat].0]));
        d.set("businessUnitId", bu(cat - 6));
        d.set("isConfigurableMaterial", false);
        d.set("unitOfMeasure", "Each");
        d.set("isInventory", true);
        d.set("chargeableByDefault", true);
        d.set("displayInAmount", true);
        d.set("account", "Materials Income");
        g.emit(d);
        skus.push(sku);
    }

    for (i, (name, maker, model, cost, price, months, trade)) in EQUIPMENT.iter().enumerate() {
        let id = g.id();
        let created = g.time_between(created_range.0, created_range.1);
        let stamp = g.stamp(created);
        let active = g.active();
        let mut d = g.doc("pricebook/equipment", id, stamp, active);
        let sku = Sku {
            id,
            kind: SkuKind::Equipment,
            trade: *trade,
            code: format!("EQ-{}", 500 + i),
            name: name.to_string(),
            price_cents: price * 100,
            cost_cents: cost * 100,
            taxable: true,
            hours: 0.0,
        };
        common(&mut d, &sku);
        d.set("categories", json!([category_ids[9].0]));
        d.set("manufacturer", *maker);
        d.set("model", *model);
        let parts = format!("{} year parts warranty", months / 12);
        d.set(
            "manufacturerWarranty",
            json!({ "duration": months, "description": parts }),
        );
        let labor = json!({ "duration": 12, "description": "1 year labor warranty" });
        d.set("serviceProviderWarranty", labor);
        d.set("isInventory", true);
        d.set("isConfigurableEquipment", false);
        d.set("displayInAmount", true);
        d.set("unitOfMeasure", "Each");
        d.set("account", "Equipment Income");
        g.emit(d);
        skus.push(sku);
    }
    w.skus = skus;
}

/// Writes the categories, children first so each parent lists its subcategories.
fn categories(g: &mut Gen) -> Vec<(i64, &'static str)> {
    let ids: Vec<i64> = CATEGORIES.iter().map(|_| g.id()).collect();
    let created = g.start_us - 25 * DAY_US;
    let mut docs: Vec<Option<serde_json::Map<String, Value>>> = vec![None; CATEGORIES.len()];
    let mut order: Vec<usize> = (0..CATEGORIES.len()).collect();
    order.sort_by_key(|&i| CATEGORIES[i].2.is_none());
    for i in order {
        let (name, kind, parent) = CATEGORIES[i];
        let stamp = g.stamp(created + i as i64 * 60_000_000);
        let mut d = g.doc("pricebook/categories", ids[i], stamp, true);
        d.set("name", name);
        d.set("categoryType", kind);
        d.set("position", i as i64);
        d.set("parentId", parent.map(|p| ids[p]));
        d.set("description", format!("{name} ({})", kind.to_lowercase()));
        d.set("businessUnitIds", json!([]));
        let children: Vec<Value> = CATEGORIES
            .iter()
            .enumerate()
            .filter(|(_, c)| c.2 == Some(i))
            .filter_map(|(c, _)| docs[c].clone().map(Value::Object))
            .collect();
        d.set("subcategories", children);
        docs[i] = Some(d.to_map());
        g.emit(d);
    }
    ids.into_iter()
        .zip(CATEGORIES.iter().map(|c| c.0))
        .collect()
}

/// Fields services, materials and equipment share.
fn common(d: &mut Doc, sku: &Sku) {
    let price = dollars(sku.price_cents);
    d.set("code", sku.code.as_str());
    d.set("displayName", sku.name.as_str());
    d.set("description", format!("<p>{}</p>", sku.name));
    d.set("price", price);
    d.set("memberPrice", round2(price * 0.85));
    d.set("addOnPrice", round2(price * 0.95));
    d.set("addOnMemberPrice", round2(price * 0.8));
    d.set("cost", dollars(sku.cost_cents));
    d.set("hours", sku.hours);
    d.set("taxable", sku.taxable);
    d.set("bonus", 0.0);
    d.set("commissionBonus", 0.0);
    d.set("paysCommission", true);
}

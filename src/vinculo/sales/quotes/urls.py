"""Pages of sales quotes and orders, included into the "sales" namespace."""

from __future__ import annotations

from django.urls import path

from vinculo.sales.quotes import views

urlpatterns = [
    path("quotes/", views.quote_list, name="quote_list"),
    path("quotes/new", views.quote_new, name="quote_new"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/header", views.quote_header, name="quote_header"),
    path("quotes/<int:pk>/lines/add", views.quote_line_add, name="quote_line_add"),
    path("quotes/<int:pk>/lines/<int:line_pk>", views.quote_line_update, name="quote_line_update"),
    path(
        "quotes/<int:pk>/lines/<int:line_pk>/remove",
        views.quote_line_remove,
        name="quote_line_remove",
    ),
    path("quotes/<int:pk>/lines/<int:line_pk>/move", views.quote_line_move, name="quote_line_move"),
    path("quotes/<int:pk>/send", views.quote_send, name="quote_send"),
    path("quotes/<int:pk>/cancel", views.quote_cancel, name="quote_cancel"),
    path("quotes/<int:pk>/print", views.quote_print, name="quote_print"),
    path("quotes/<int:pk>/pdf", views.quote_pdf, name="quote_pdf"),
    path("q/<str:token>", views.quote_public, name="quote_public"),
    path("deals/<int:pk>/quotes", views.deal_quotes, name="deal_quotes"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel", views.order_cancel, name="order_cancel"),
    path("records/<str:kind>/<int:pk>/orders", views.record_orders, name="record_orders"),
]
